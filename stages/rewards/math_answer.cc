// Math answer extraction, normalisation and comparison. Every pass is a linear scan; brace
// matching uses an explicit stack, so nesting depth costs memory, never call-stack depth.
#include "stages/rewards/math_answer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/int128.h"

namespace r1 {
namespace {

constexpr size_t kNpos = absl::string_view::npos;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

absl::string_view TrimSpaces(absl::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

size_t SkipSpaces(absl::string_view s, size_t i) {
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

// match[i] = index of the '}' closing the '{' at i, kNpos when s[i] is not an opening brace or is
// unbalanced. A backslash escapes the next character ("\{" is not a group).
std::vector<size_t> MatchBraces(absl::string_view s) {
  std::vector<size_t> match(s.size(), kNpos);
  std::vector<size_t> open;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '{') {
      open.push_back(i);
    } else if (s[i] == '}' && !open.empty()) {
      match[open.back()] = i;
      open.pop_back();
    }
  }
  return match;
}

// ---------------------------------------------------------------------------------------------
// Extraction.

// Content of the last \boxed{...} / \fbox{...} with a balanced, non-blank argument (or "\boxed 5").
// A box with nothing in it ("\boxed{ }", "\fbox $") is no answer: an earlier one counts instead.
std::optional<absl::string_view> LastBoxed(absl::string_view s) {
  std::optional<absl::string_view> best;
  size_t best_pos = 0;
  std::vector<size_t> match;  // computed lazily: most texts have no \boxed
  for (absl::string_view command : {absl::string_view("\\boxed"), absl::string_view("\\fbox")}) {
    for (size_t pos = s.find(command); pos != kNpos; pos = s.find(command, pos + 1)) {
      size_t p = pos + command.size();
      if (p < s.size() && IsAsciiAlpha(s[p])) continue;  // \boxedfoo is another command
      if (best && pos < best_pos) continue;
      size_t q = SkipSpaces(s, p);
      if (q < s.size() && s[q] == '{') {
        if (match.empty()) match = MatchBraces(s);
        if (match[q] == kNpos) continue;
        const absl::string_view content = s.substr(q + 1, match[q] - q - 1);
        if (TrimSpaces(content).empty()) continue;
        best = content;
        best_pos = pos;
      } else if (q > p && q < s.size() &&
                 s[q] != '\\') {  // "\boxed 5": up to a space, dollar, backslash
        size_t e = q;
        while (e < s.size() && !IsSpace(s[e]) && s[e] != '$' && s[e] != '\\') ++e;
        if (e == q) continue;  // "\boxed $": nothing boxed
        best = s.substr(q, e - q);
        best_pos = pos;
      }
    }
  }
  return best;
}

absl::string_view RestOfLine(absl::string_view s, size_t from) {
  size_t e = s.find('\n', from);
  return s.substr(from, (e == kNpos ? s.size() : e) - from);
}

std::optional<absl::string_view> AfterHashes(absl::string_view s) {
  size_t pos = s.rfind("####");
  if (pos == kNpos) return std::nullopt;
  absl::string_view rest = TrimSpaces(RestOfLine(s, pos + 4));
  if (rest.empty()) return std::nullopt;
  return rest;
}

std::string AsciiLowerCopy(absl::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// "... the answer is $18. Because ..." -> "$18".
std::optional<absl::string_view> AfterAnswerIs(absl::string_view s) {
  std::string lower = AsciiLowerCopy(s);
  constexpr absl::string_view kKey = "answer is";
  size_t pos = absl::string_view(lower).rfind(kKey);
  if (pos == kNpos) return std::nullopt;
  absl::string_view rest = RestOfLine(s, pos + kKey.size());
  size_t b = 0;
  while (b < rest.size() && (IsSpace(rest[b]) || rest[b] == ':' || rest[b] == '*')) ++b;
  rest = rest.substr(b);
  // A sentence ends at a '.' followed by a space or the end (not a decimal point).
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '.' && (i + 1 == rest.size() || IsSpace(rest[i + 1]))) {
      rest = rest.substr(0, i);
      break;
    }
  }
  rest = TrimSpaces(rest);
  while (!rest.empty() && rest.back() == '*') rest.remove_suffix(1);  // markdown bold
  if (rest.empty()) return std::nullopt;
  return rest;
}

// The last non-empty line, when it reads "A: N" or "Answer: N" (any case).
std::optional<absl::string_view> FinalAnswerLine(absl::string_view s) {
  absl::string_view t = TrimSpaces(s);
  size_t nl = t.rfind('\n');
  absl::string_view line = TrimSpaces(nl == kNpos ? t : t.substr(nl + 1));
  std::string lower = AsciiLowerCopy(line.substr(0, 8));
  for (absl::string_view prefix : {absl::string_view("a:"), absl::string_view("answer:")}) {
    if (absl::string_view(lower).substr(0, prefix.size()) == prefix) {
      absl::string_view rest = TrimSpaces(line.substr(prefix.size()));
      if (!rest.empty()) return rest;
    }
  }
  return std::nullopt;
}

// The last number token: [-]digits[,digits][.digits][/digits[.digits]] (a '-' right after a
// letter, digit or ')' is a subtraction, not a sign). Unicode minus counts as '-'.
std::optional<absl::string_view> LastNumberToken(absl::string_view s) {
  std::optional<absl::string_view> last;
  size_t i = 0;
  const size_t n = s.size();
  auto consume_mantissa = [&](size_t j) {
    while (j < n) {
      if (IsDigit(s[j])) {
        ++j;
      } else if ((s[j] == ',' || s[j] == '.') && j + 1 < n && IsDigit(s[j + 1])) {
        ++j;
      } else {
        break;
      }
    }
    return j;
  };
  while (i < n) {
    if (!IsDigit(s[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    if (start >= 1 && s[start - 1] == '.' && (start < 2 || !IsDigit(s[start - 2]))) --start;
    size_t sign_len = 0;
    if (start >= 1 && s[start - 1] == '-') {
      sign_len = 1;
    } else if (start >= 3 && s.substr(start - 3, 3) == "\xE2\x88\x92") {
      sign_len = 3;
    }
    if (sign_len > 0) {
      size_t before = start - sign_len;
      bool subtraction = before > 0 && (IsDigit(s[before - 1]) || IsAsciiAlpha(s[before - 1]) ||
                                        s[before - 1] == ')');
      if (!subtraction) start = before;
    }
    size_t j = consume_mantissa(i);
    if (j + 1 < n && s[j] == '/' && IsDigit(s[j + 1])) j = consume_mantissa(j + 1);
    last = s.substr(start, j - start);
    i = j;
  }
  return last;
}

// \boxed, ####, "answer is", final "A:" line — the marked forms, in order of preference.
std::optional<ExtractedAnswer> ExtractMarked(absl::string_view s) {
  if (auto boxed = LastBoxed(s)) {
    return ExtractedAnswer{std::string(TrimSpaces(*boxed)), AnswerSource::kBoxed};
  }
  if (auto hashes = AfterHashes(s))
    return ExtractedAnswer{std::string(*hashes), AnswerSource::kHashes};
  if (auto is = AfterAnswerIs(s)) return ExtractedAnswer{std::string(*is), AnswerSource::kAnswerIs};
  if (auto line = FinalAnswerLine(s)) {
    return ExtractedAnswer{std::string(*line), AnswerSource::kFinalLine};
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Normalisation.

// Unicode minus -> '-', no-break space -> ' ', degree sign and thin spaces removed.
std::string ReplaceUnicode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    absl::string_view rest = s.substr(i);
    if (rest.substr(0, 3) == "\xE2\x88\x92") {  // U+2212 minus sign
      out += '-';
      i += 2;
    } else if (rest.substr(0, 2) == "\xC2\xA0") {  // U+00A0 no-break space
      out += ' ';
      i += 1;
    } else if (rest.substr(0, 2) == "\xC2\xB0") {  // U+00B0 degree sign
      i += 1;
    } else if (rest.substr(0, 3) == "\xE2\x80\x89" || rest.substr(0, 3) == "\xE2\x80\xAF") {
      i += 2;  // thin space, narrow no-break space (digit group separators)
    } else {
      out += s[i];
    }
  }
  return out;
}

// What RewriteLatex does with a command (a backslash and letters) it knows.
enum class CommandRule {
  kDrop,    // the command goes, what follows stays: \left( -> (
  kUnwrap,  // the command and the braces of its group go, the content stays: \text{18} -> 18
  kFrac,    // \frac{a}{b} -> (a)/(b); each argument a group or one character (\frac12)
};

struct LatexCommand {
  absl::string_view name;
  CommandRule rule;
};

constexpr LatexCommand kLatexCommands[] = {
    {"left", CommandRule::kDrop},         {"right", CommandRule::kDrop},
    {"displaystyle", CommandRule::kDrop}, {"textstyle", CommandRule::kDrop},
    {"quad", CommandRule::kDrop},         {"qquad", CommandRule::kDrop},
    {"big", CommandRule::kDrop},          {"Big", CommandRule::kDrop},
    {"bigl", CommandRule::kDrop},         {"bigr", CommandRule::kDrop},
    {"Bigl", CommandRule::kDrop},         {"Bigr", CommandRule::kDrop},
    {"circ", CommandRule::kDrop},         {"degree", CommandRule::kDrop},
    {"text", CommandRule::kUnwrap},       {"textbf", CommandRule::kUnwrap},
    {"textit", CommandRule::kUnwrap},     {"textrm", CommandRule::kUnwrap},
    {"textnormal", CommandRule::kUnwrap}, {"mathrm", CommandRule::kUnwrap},
    {"mathbf", CommandRule::kUnwrap},     {"mathit", CommandRule::kUnwrap},
    {"mathsf", CommandRule::kUnwrap},     {"operatorname", CommandRule::kUnwrap},
    {"mbox", CommandRule::kUnwrap},       {"hbox", CommandRule::kUnwrap},
    {"boxed", CommandRule::kUnwrap},      {"fbox", CommandRule::kUnwrap},
    {"emph", CommandRule::kUnwrap},       {"frac", CommandRule::kFrac},
    {"dfrac", CommandRule::kFrac},        {"tfrac", CommandRule::kFrac},
    {"cfrac", CommandRule::kFrac},
};

std::optional<CommandRule> FindLatexCommand(absl::string_view name) {
  for (const LatexCommand& command : kLatexCommands) {
    if (command.name == name) return command.rule;
  }
  return std::nullopt;
}

// Literal rewrites, tried at every position outside a command name; none is a prefix of another.
struct LatexLiteral {
  absl::string_view from;
  absl::string_view to;
};

constexpr LatexLiteral kLatexLiterals[] = {
    {"$", ""},          // math delimiter
    {"~", ""},          // non-breaking space
    {"{,}", ","},       // 1{,}000
    {"^\\circ", ""},    // degrees
    {"^{\\circ}", ""},  // degrees
    {"\\,", ""},        // thin space
    {"\\!", ""},        // negative thin space
    {"\\;", ""},        // thick space
    {"\\:", ""},        // medium space
    {"\\ ", ""},        // space
    {"\\(", ""},        // inline math delimiter
    {"\\)", ""},        // inline math delimiter
    {"\\[", ""},        // display math delimiter
    {"\\]", ""},        // display math delimiter
    {"\\$", ""},        // escaped dollar
    {"\\%", "%"},       // escaped percent sign
    {"\\\\", " "},      // line break
};

// One argument of \frac: a balanced brace group or a single character ("\frac12").
struct FracArg {
  bool brace = false;
  size_t open = 0;   // '{' or the character
  size_t close = 0;  // matching '}' or the character
};

std::optional<FracArg> ReadFracArg(absl::string_view s, size_t p,
                                   const std::vector<size_t>& match) {
  p = SkipSpaces(s, p);
  if (p >= s.size() || s[p] == '\\' || s[p] == '}') return std::nullopt;
  if (s[p] == '{') {
    if (match[p] == kNpos) return std::nullopt;
    return FracArg{true, p, match[p]};
  }
  return FracArg{false, p, p};
}

// What to do on reaching a '}' that closes a group opened by a command.
struct CloseAction {
  enum Kind { kDrop, kParen, kFracMid } kind = kDrop;
  FracArg second;  // for kFracMid: the denominator
};

// Rewrites LaTeX commands (see NormalizeAnswer) in one left-to-right pass: the literal table
// first, then commands by kLatexCommands; an unknown command or escape is copied. A command that
// opens a group records what its closing '}' becomes (dropped, ')' or the fraction's middle).
class LatexRewriter {
 public:
  explicit LatexRewriter(absl::string_view s) : s_(s), match_(MatchBraces(s)) {
    out_.reserve(s.size());
  }

  std::string Rewrite() && {
    while (i_ < s_.size()) Step();
    return std::move(out_);
  }

 private:
  void Step() {
    if (s_[i_] == '}') return CloseBrace();
    if (ApplyLiteral()) return;
    if (s_[i_] != '\\') {
      out_ += s_[i_++];
    } else if (i_ + 1 == s_.size()) {
      ++i_;  // a lone trailing backslash
    } else if (!IsAsciiAlpha(s_[i_ + 1])) {
      out_.append(s_.data() + i_, 2);  // an escape no literal rewrites: \{ \& ...
      i_ += 2;
    } else {
      Command();
    }
  }

  void CloseBrace() {
    auto it = on_close_.find(i_++);
    if (it == on_close_.end()) {
      out_ += '}';
      return;
    }
    const CloseAction action = it->second;
    on_close_.erase(it);
    if (action.kind == CloseAction::kDrop) return;
    out_ += ')';
    if (action.kind == CloseAction::kFracMid) StartDenominator(action.second);
  }

  bool ApplyLiteral() {
    const absl::string_view rest = s_.substr(i_);
    for (const LatexLiteral& literal : kLatexLiterals) {
      if (rest.substr(0, literal.from.size()) == literal.from) {
        out_.append(literal.to.data(), literal.to.size());
        i_ += literal.from.size();
        return true;
      }
    }
    return false;
  }

  // At '\' followed by a letter: the command's name runs to the next non-letter.
  void Command() {
    size_t end = i_ + 1;
    while (end < s_.size() && IsAsciiAlpha(s_[end])) ++end;
    const std::optional<CommandRule> rule = FindLatexCommand(s_.substr(i_ + 1, end - i_ - 1));
    if (rule == CommandRule::kDrop) {
      i_ = end;
    } else if (rule == CommandRule::kUnwrap) {
      Unwrap(end);
    } else if (rule != CommandRule::kFrac || !Fraction(end)) {
      out_.append(s_.data() + i_, end - i_);  // unknown, or \frac without its two arguments
      i_ = end;
    }
  }

  // \text{...} -> its content; \text without a group -> nothing.
  void Unwrap(size_t after_name) {
    const size_t p = SkipSpaces(s_, after_name);
    if (p < s_.size() && s_[p] == '{' && match_[p] != kNpos) {
      on_close_[match_[p]] = CloseAction{CloseAction::kDrop, {}};
      i_ = p + 1;
    } else {
      i_ = after_name;
    }
  }

  // "(" numerator ")/(" denominator ")"; false (nothing written) without two arguments.
  bool Fraction(size_t after_name) {
    const std::optional<FracArg> first = ReadFracArg(s_, after_name, match_);
    const std::optional<FracArg> second =
        first ? ReadFracArg(s_, first->close + 1, match_) : std::nullopt;
    if (!second) return false;
    out_ += '(';
    if (first->brace) {  // the numerator is rewritten in place; its '}' starts the denominator
      on_close_[first->close] = CloseAction{CloseAction::kFracMid, *second};
      i_ = first->open + 1;
    } else {
      out_ += s_[first->open];
      out_ += ')';
      StartDenominator(*second);
    }
    return true;
  }

  // Writes "/(" and continues inside a brace denominator, or writes a one-character one and ")".
  void StartDenominator(const FracArg& second) {
    out_ += "/(";
    if (second.brace) {
      on_close_[second.close] = CloseAction{CloseAction::kParen, {}};
    } else {
      out_ += s_[second.open];
      out_ += ')';
    }
    i_ = second.open + 1;
  }

  const absl::string_view s_;
  const std::vector<size_t> match_;  // MatchBraces(s_)
  std::unordered_map<size_t, CloseAction> on_close_;
  std::string out_;
  size_t i_ = 0;  // the next character of s_ to rewrite
};

std::string RewriteLatex(absl::string_view s) { return LatexRewriter(s).Rewrite(); }

// "(12)" -> "12" when the parentheses hold a plain signed number (left by \frac rewriting).
std::string DropNumberParens(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '(') {
      size_t j = i + 1;
      if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
      size_t digits_from = j;
      while (j < s.size() && (IsDigit(s[j]) || s[j] == '.' || s[j] == ' ')) ++j;
      if (j < s.size() && s[j] == ')' && j > digits_from) {
        out.append(s.data() + i + 1, j - i - 1);
        i = j + 1;
        continue;
      }
    }
    out += s[i];
    ++i;
  }
  return out;
}

// "1,234,567" -> "1234567": a comma between a digit and exactly three digits.
std::string DropThousandsSeparators(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',' && i > 0 && IsDigit(s[i - 1]) && i + 3 < s.size() && IsDigit(s[i + 1]) &&
        IsDigit(s[i + 2]) && IsDigit(s[i + 3]) && (i + 4 == s.size() || !IsDigit(s[i + 4]))) {
      continue;
    }
    out += s[i];
  }
  return out;
}

// Collapses whitespace to single spaces, trims spaces and '*' at both ends and periods at the end,
// lowercases ASCII.
std::string TidyText(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (IsSpace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += AsciiLower(c);
    }
  }
  size_t b = 0;
  size_t e = out.size();
  while (b < e && (out[b] == ' ' || out[b] == '*')) ++b;
  while (e > b && (out[e - 1] == ' ' || out[e - 1] == '*' || out[e - 1] == '.')) --e;
  return out.substr(b, e - b);
}

// ---------------------------------------------------------------------------------------------
// Numbers.

// value = (negative ? -1 : 1) * digits / 10^scale. Canonical: no leading zeros (zero is ""), no
// trailing zeros while scale > 0, zero is never negative.
struct Decimal {
  bool negative = false;
  std::string digits;
  int64_t scale = 0;
};

struct ParsedNumber {
  Decimal num;
  std::optional<Decimal> den;  // a fraction num/den; never zero
};

void Canonicalize(Decimal* d) {
  size_t lead = 0;
  while (lead < d->digits.size() && d->digits[lead] == '0') ++lead;
  d->digits.erase(0, lead);
  while (d->scale > 0 && !d->digits.empty() && d->digits.back() == '0') {
    d->digits.pop_back();
    --d->scale;
  }
  if (d->digits.empty()) {
    d->negative = false;
    d->scale = 0;
  }
}

// "digits[.digits]" or ".digits" at s[*pos]; advances *pos past it.
bool ParseUnsignedDecimal(absl::string_view s, size_t* pos, Decimal* out) {
  size_t i = *pos;
  std::string digits;
  int64_t scale = 0;
  bool any = false;
  while (i < s.size() && IsDigit(s[i])) {
    digits += s[i++];
    any = true;
  }
  if (i + 1 < s.size() && s[i] == '.' && IsDigit(s[i + 1])) {
    ++i;
    while (i < s.size() && IsDigit(s[i])) {
      digits += s[i++];
      ++scale;
    }
    any = true;
  }
  if (!any) return false;
  out->digits = std::move(digits);
  out->scale = scale;
  *pos = i;
  return true;
}

bool IsUnitChar(char c) {
  return IsAsciiAlpha(c) || IsSpace(c) || static_cast<unsigned char>(c) >= 0x80 ||
         absl::string_view(".,;:!?'\"()").find(c) != kNpos;
}

// Parses a normalised answer as a number: [sign] decimal [/ [sign] decimal] [%] [words]. The
// trailing words (units) must be separated by a space and hold no digits or math.
std::optional<ParsedNumber> ParseNumber(absl::string_view s) {
  size_t i = SkipSpaces(s, 0);
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    negative = s[i] == '-';
    i = SkipSpaces(s, i + 1);
  }
  ParsedNumber number;
  if (!ParseUnsignedDecimal(s, &i, &number.num)) return std::nullopt;
  number.num.negative = negative;
  Canonicalize(&number.num);
  size_t j = SkipSpaces(s, i);
  if (j < s.size() && s[j] == '/') {
    j = SkipSpaces(s, j + 1);
    bool den_negative = false;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) {
      den_negative = s[j] == '-';
      j = SkipSpaces(s, j + 1);
    }
    Decimal den;
    if (!ParseUnsignedDecimal(s, &j, &den)) return std::nullopt;
    Canonicalize(&den);
    if (den.digits.empty()) return std::nullopt;  // division by zero: not a number
    if (den_negative) number.num.negative = !number.num.negative;
    Canonicalize(&number.num);
    number.den = std::move(den);
    i = j;
  }
  j = SkipSpaces(s, i);
  if (j < s.size() && s[j] == '%') i = j + 1;
  if (i < s.size()) {
    if (!IsSpace(s[i]) && s[i] != ',' && s[i] != ';' && s[i] != '(') return std::nullopt;
    for (size_t k = i; k < s.size(); ++k) {
      if (!IsUnitChar(s[k])) return std::nullopt;
    }
  }
  return number;
}

bool DecimalsEqual(const Decimal& a, const Decimal& b) {
  return a.negative == b.negative && a.digits == b.digits && a.scale == b.scale;
}

constexpr int kMaxExactDigits = 18;  // |p|, |q| < 1e18 keeps p1*q2 inside __int128

Int128 Pow10(int64_t k) {
  Int128 r = 1;
  for (int64_t i = 0; i < k; ++i) r *= 10;
  return r;
}

Int128 DigitsValue(const std::string& digits) {
  Int128 r = 0;
  for (char c : digits) r = r * 10 + (c - '0');
  return r;
}

// p/q exactly, when every part fits in 18 digits.
std::optional<std::pair<Int128, Int128>> ToRational(const ParsedNumber& x) {
  const Decimal& n = x.num;
  Decimal one{false, "1", 0};
  const Decimal& d = x.den ? *x.den : one;
  if (static_cast<int64_t>(n.digits.size()) + d.scale > kMaxExactDigits ||
      static_cast<int64_t>(d.digits.size()) + n.scale > kMaxExactDigits) {
    return std::nullopt;
  }
  Int128 p = DigitsValue(n.digits) * Pow10(d.scale);
  Int128 q = DigitsValue(d.digits) * Pow10(n.scale);
  if (n.negative) p = -p;
  return std::make_pair(p, q);
}

// True when p/q has no finite decimal expansion (q has a prime factor other than 2 and 5).
bool NonTerminating(std::pair<Int128, Int128> r) {
  Int128 g = Gcd(r.first, r.second);
  Int128 q = g == 0 ? r.second : r.second / g;
  while (q % 2 == 0) q /= 2;
  while (q % 5 == 0) q /= 5;
  return q != 1;
}

long double DecimalValue(const Decimal& d) {
  if (d.digits.empty()) return 0.0L;
  std::string text = d.digits + "e-" + std::to_string(d.scale);
  long double v = std::strtold(text.c_str(), nullptr);
  return d.negative ? -v : v;
}

long double NumberValue(const ParsedNumber& x) {
  long double v = DecimalValue(x.num);
  return x.den ? v / DecimalValue(*x.den) : v;
}

bool RelativelyClose(long double a, long double b) {
  if (!std::isfinite(a) || !std::isfinite(b)) return false;
  long double scale = std::max(std::fabs(a), std::fabs(b));
  return std::fabs(a - b) <= 1e-6L * scale;
}

bool NumbersEqual(const ParsedNumber& a, const ParsedNumber& b) {
  if (!a.den && !b.den) return DecimalsEqual(a.num, b.num);
  auto ra = ToRational(a);
  auto rb = ToRational(b);
  if (ra && rb) {
    if (ra->first * rb->second == rb->first * ra->second) return true;
    if (!NonTerminating(*ra) && !NonTerminating(*rb)) return false;
  }
  return RelativelyClose(NumberValue(a), NumberValue(b));
}

// A number to compare when the whole answer is not one: the right-hand side of the last '='
// ("x = 5"), else the last number of a text without math ("she pays 18 dollars in total").
std::optional<ParsedNumber> FallbackNumber(absl::string_view normalized) {
  size_t eq = normalized.rfind('=');
  if (eq != kNpos) return ParseNumber(normalized.substr(eq + 1));
  if (normalized.find_first_of("\\^_{}/") != kNpos) return std::nullopt;
  std::optional<absl::string_view> token = LastNumberToken(normalized);
  if (!token) return std::nullopt;
  return ParseNumber(*token);
}

std::string WithoutSpacesAndBraces(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!IsSpace(c) && c != '{' && c != '}') out += c;
  }
  return out;
}

}  // namespace

absl::string_view AnswerSourceName(AnswerSource source) {
  switch (source) {
    case AnswerSource::kNone:
      return "none";
    case AnswerSource::kAnswerTag:
      return "answer_tag";
    case AnswerSource::kBoxed:
      return "boxed";
    case AnswerSource::kHashes:
      return "hashes";
    case AnswerSource::kAnswerIs:
      return "answer_is";
    case AnswerSource::kFinalLine:
      return "final_line";
    case AnswerSource::kLastNumber:
      return "last_number";
  }
  return "none";
}

ExtractedAnswer ExtractAnswer(absl::string_view response) {
  size_t close = response.rfind("</answer>");
  if (close != kNpos) {
    size_t open = response.rfind("<answer>", close);
    if (open != kNpos) {
      absl::string_view content = response.substr(open + 8, close - open - 8);
      if (auto marked = ExtractMarked(content)) {
        marked->source = AnswerSource::kAnswerTag;
        return *marked;
      }
      absl::string_view trimmed = TrimSpaces(content);
      if (!trimmed.empty()) return ExtractedAnswer{std::string(trimmed), AnswerSource::kAnswerTag};
    }
  }
  if (auto marked = ExtractMarked(response)) return *marked;
  if (auto number = LastNumberToken(response)) {
    return ExtractedAnswer{std::string(*number), AnswerSource::kLastNumber};
  }
  return ExtractedAnswer{};
}

std::string ExtractReferenceAnswer(absl::string_view reference) {
  if (auto hashes = AfterHashes(reference)) return std::string(*hashes);
  if (auto boxed = LastBoxed(reference)) return std::string(TrimSpaces(*boxed));
  return std::string(TrimSpaces(reference));
}

std::string NormalizeAnswer(absl::string_view answer) {
  std::string s = ReplaceUnicode(answer);
  s = RewriteLatex(s);
  s = DropNumberParens(s);
  s = DropThousandsSeparators(s);
  return TidyText(s);
}

bool AnswersEquivalent(absl::string_view candidate, absl::string_view reference) {
  const std::string ref = NormalizeAnswer(reference);
  const std::string cand = NormalizeAnswer(candidate);
  if (ref.empty() || cand.empty()) return false;
  std::optional<ParsedNumber> ref_number = ParseNumber(ref);
  std::optional<ParsedNumber> cand_number = ParseNumber(cand);
  if (ref_number && cand_number) return NumbersEqual(*cand_number, *ref_number);
  if (ref_number) {
    std::optional<ParsedNumber> fallback = FallbackNumber(cand);
    return fallback && NumbersEqual(*fallback, *ref_number);
  }
  if (cand_number) {
    std::optional<ParsedNumber> fallback = FallbackNumber(ref);
    if (fallback && NumbersEqual(*cand_number, *fallback)) return true;
  }
  return WithoutSpacesAndBraces(cand) == WithoutSpacesAndBraces(ref);
}

}  // namespace r1
