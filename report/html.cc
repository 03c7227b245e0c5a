// HTML text helpers (see html.h).
#include "report/html.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace r1 {

std::string EscapeHtml(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string TruncateUtf8(absl::string_view text, int64_t max_bytes) {
  if (max_bytes <= 0 || static_cast<int64_t>(text.size()) <= max_bytes) return std::string(text);
  size_t cut = static_cast<size_t>(max_bytes);
  // Back off over continuation bytes (10xxxxxx) so that no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(text.substr(0, cut), " \xE2\x80\xA6 (", text.size() - cut, " more bytes)");
}

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Large magnitudes (tokens/s, counts) as whole numbers rather than in exponent form.
  if (std::fabs(value) >= 1e4 && std::fabs(value) < 1e9) return absl::StrFormat("%.0f", value);
  return absl::StrFormat("%.4g", value);
}

std::string FormatDurationMs(int64_t ms) {
  if (ms < 0) return "-";
  if (ms < 1000) return absl::StrCat(ms, " ms");
  const double seconds = static_cast<double>(ms) / 1000.0;
  if (seconds < 60) return absl::StrFormat("%.1f s", seconds);
  const int64_t s = ms / 1000;
  if (s < 3600) return absl::StrFormat("%d min %02d s", s / 60, s % 60);
  return absl::StrFormat("%d h %02d min", s / 3600, (s % 3600) / 60);
}

}  // namespace r1
