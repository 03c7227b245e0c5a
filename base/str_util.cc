// Small string formatters (see str_util.h).
#include "base/str_util.h"

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace r1 {

std::string Quoted(absl::string_view s) { return absl::StrCat("\"", absl::CEscape(s), "\""); }

std::string RoundTripDouble(double v) {
  std::string s;
  for (int precision = 1; precision <= 17; ++precision) {
    s = absl::StrFormat("%.*g", precision, v);
    if (std::strtod(s.c_str(), nullptr) == v) break;
  }
  return s;
}

}  // namespace r1
