// Hand-written matchers for the byte-level BPE split regexes, and the GPT-2 byte <-> char map.
#include "model/tokenizers/pre_tokenizer.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "model/tokenizers/unicode.h"

namespace r1 {
namespace {

constexpr char kGpt2Regex[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr char kQwen2Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr char kLlama3Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Character class bits, computed once per code point.
constexpr uint8_t kLetter = 1;
constexpr uint8_t kNumber = 2;
constexpr uint8_t kSpace = 4;

// Matches one regex over code points `cp` with classes `cls`; Match(i) returns the end of the
// piece that starts at i (always > i).
class Matcher {
 public:
  Matcher(const std::vector<char32_t>& cp, const std::vector<uint8_t>& cls, SplitPattern pattern)
      : cp_(cp), cls_(cls), n_(cp.size()), pattern_(pattern) {}

  size_t Match(size_t i) const {
    return pattern_ == SplitPattern::kGpt2 ? MatchGpt2(i) : MatchQwen2(i);
  }

 private:
  bool Letter(size_t i) const { return i < n_ && (cls_[i] & kLetter); }
  bool Number(size_t i) const { return i < n_ && (cls_[i] & kNumber); }
  bool Space(size_t i) const { return i < n_ && (cls_[i] & kSpace); }
  bool Newline(size_t i) const { return i < n_ && (cp_[i] == '\r' || cp_[i] == '\n'); }
  // [^\s\p{L}\p{N}]
  bool Other(size_t i) const { return i < n_ && cls_[i] == 0; }
  bool Is(size_t i, char32_t c) const { return i < n_ && cp_[i] == c; }
  // Case-insensitive ASCII letter match ((?i) in Oniguruma also folds U+017F LONG S to s).
  bool IsCi(size_t i, char32_t lower) const {
    if (i >= n_) return false;
    const char32_t c = cp_[i];
    return c == lower || c == lower - 32 || (lower == 's' && c == 0x17F);
  }

  size_t RunEnd(size_t i, bool (Matcher::*pred)(size_t) const) const {
    while ((this->*pred)(i)) ++i;
    return i;
  }

  // 's|'t|'re|'ve|'m|'ll|'d (case-insensitive or not); returns the end or 0.
  size_t Contraction(size_t i, bool ci) const {
    if (!Is(i, '\'')) return 0;
    const auto is = [&](size_t j, char32_t c) { return ci ? IsCi(j, c) : Is(j, c); };
    if (is(i + 1, 's') || is(i + 1, 't') || is(i + 1, 'm') || is(i + 1, 'd')) return i + 2;
    if ((is(i + 1, 'r') || is(i + 1, 'v')) && is(i + 2, 'e')) return i + 3;
    if (is(i + 1, 'l') && is(i + 2, 'l')) return i + 3;
    return 0;
  }

  // \s+(?!\S) then \s+ for a whitespace run starting at i.
  size_t TrailingSpaces(size_t i) const {
    const size_t end = RunEnd(i, &Matcher::Space);
    if (end == n_ || end - i == 1) return end;  // (?!\S) holds at the end, or \s+ takes it all
    return end - 1;                             // leave one space to prefix the next word
  }

  size_t MatchGpt2(size_t i) const {
    if (size_t end = Contraction(i, /*ci=*/false)) return end;
    const size_t j = Is(i, ' ') ? i + 1 : i;  // optional leading space
    if (Letter(j)) return RunEnd(j, &Matcher::Letter);
    if (Number(j)) return RunEnd(j, &Matcher::Number);
    if (Other(j)) return RunEnd(j, &Matcher::Other);
    return TrailingSpaces(i);  // cp_[i] is whitespace here
  }

  size_t MatchQwen2(size_t i) const {
    if (size_t end = Contraction(i, /*ci=*/true)) return end;
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (Letter(i)) return RunEnd(i, &Matcher::Letter);
    if (!Newline(i) && !Number(i) && Letter(i + 1)) return RunEnd(i + 1, &Matcher::Letter);
    // \p{N} or \p{N}{1,3}
    if (Number(i)) {
      size_t end = i + 1;
      if (pattern_ == SplitPattern::kLlama3) {
        while (end < i + 3 && Number(end)) ++end;
      }
      return end;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    const size_t j = Is(i, ' ') ? i + 1 : i;
    if (Other(j)) return RunEnd(RunEnd(j, &Matcher::Other), &Matcher::Newline);
    // Here cp_[i] is whitespace. \s*[\r\n]+: up to the last \r or \n of the whitespace run.
    const size_t end = RunEnd(i, &Matcher::Space);
    for (size_t k = end; k > i; --k) {
      if (Newline(k - 1)) return k;
    }
    return TrailingSpaces(i);
  }

  const std::vector<char32_t>& cp_;
  const std::vector<uint8_t>& cls_;
  const size_t n_;
  const SplitPattern pattern_;
};

}  // namespace

absl::StatusOr<SplitPattern> SplitPatternFromRegex(absl::string_view regex) {
  if (regex == kQwen2Regex) return SplitPattern::kQwen2;
  if (regex == kLlama3Regex) return SplitPattern::kLlama3;
  if (regex == kGpt2Regex) return SplitPattern::kGpt2;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported pre-tokenizer Split regex \"", regex,
                   "\" (supported: the GPT-2, Qwen2/Qwen3 and Llama-3 byte-level BPE patterns)"));
}

absl::StatusOr<std::vector<absl::string_view>> SplitPieces(absl::string_view text,
                                                           SplitPattern pattern) {
  R1_ASSIGN_OR_RETURN(DecodedUtf8 decoded, DecodeUtf8(text));
  const std::vector<char32_t>& cp = decoded.code_points;
  std::vector<uint8_t> cls(cp.size());
  for (size_t i = 0; i < cp.size(); ++i) {
    cls[i] = (IsLetter(cp[i]) ? kLetter : 0) | (IsNumber(cp[i]) ? kNumber : 0) |
             (IsWhitespace(cp[i]) ? kSpace : 0);
  }
  const Matcher matcher(cp, cls, pattern);
  std::vector<absl::string_view> pieces;
  size_t i = 0;
  while (i < cp.size()) {
    const size_t end = matcher.Match(i);
    pieces.push_back(text.substr(decoded.starts[i], decoded.starts[end] - decoded.starts[i]));
    i = end;
  }
  return pieces;
}

ByteLevelMap::ByteLevelMap() {
  char_to_byte_.fill(-1);
  int next_extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const char32_t c =
        printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next_extra++);
    byte_to_char_[b] = c;
    char_to_byte_[c] = static_cast<int16_t>(b);
  }
}

std::string ByteLevelMap::Encode(absl::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) AppendUtf8(byte_to_char_[static_cast<uint8_t>(b)], &out);
  return out;
}

absl::StatusOr<std::string> ByteLevelMap::Decode(absl::string_view token) const {
  std::string out;
  out.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    char32_t c;
    const size_t len = DecodeUtf8At(token, pos, &c);
    if (len == 0)
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte offset ", pos));
    const int b = CharToByte(c);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(token.data() + pos, len);
    }
    pos += len;
  }
  return out;
}

}  // namespace r1
