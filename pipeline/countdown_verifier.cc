// The countdown reference format and exact verifier (see countdown_verifier.h).
#include "pipeline/countdown_verifier.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/int128.h"

namespace r1 {
namespace {

constexpr int64_t kMaxMagnitude = int64_t{1} << 62;  // larger values are rejected
constexpr int kMaxDepth = 64;                        // parenthesis nesting
constexpr size_t kMaxExpressionLength = 4096;

// An exact rational num/den with den > 0 and gcd(num, den) == 1.
struct Rational {
  int64_t num = 0;
  int64_t den = 1;
};

// Normalises num/den (den != 0); false if the result does not fit kMaxMagnitude.
bool MakeRational(Int128 num, Int128 den, Rational* out) {
  if (den < 0) {
    num = -num;
    den = -den;
  }
  Int128 g = Gcd(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  if (num > kMaxMagnitude || num < -kMaxMagnitude || den > kMaxMagnitude) return false;
  out->num = static_cast<int64_t>(num);
  out->den = static_cast<int64_t>(den);
  return true;
}

std::string RationalText(const Rational& r) {
  return r.den == 1 ? absl::StrCat(r.num) : absl::StrCat(r.num, "/", r.den);
}

// Recursive-descent parser and exact evaluator:
//   expr := term (('+' | '-') term)*    term := factor (('*' | '/') factor)*
//   factor := integer | '(' expr ')'
class ExpressionEvaluator {
 public:
  explicit ExpressionEvaluator(absl::string_view text) : s_(text) {}

  // Evaluates the whole text; false with error() set on any problem.
  bool Evaluate(Rational* out) {
    SkipSpaces();
    if (pos_ == s_.size()) return Fail("empty expression");
    if (!ParseExpr(out)) return false;
    SkipSpaces();
    if (pos_ != s_.size()) {
      return Fail(absl::StrCat("unexpected '", s_.substr(pos_, 1), "' at offset ", pos_));
    }
    return true;
  }
  const std::string& error() const { return error_; }
  const std::vector<int64_t>& literals() const { return literals_; }

 private:
  bool Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }
  void SkipSpaces() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  bool Peek(char c) {
    SkipSpaces();
    return pos_ < s_.size() && s_[pos_] == c;
  }

  bool ParseExpr(Rational* out) {
    if (!ParseTerm(out)) return false;
    while (Peek('+') || Peek('-')) {
      char op = s_[pos_++];
      Rational rhs;
      if (!ParseTerm(&rhs)) return false;
      Int128 num = static_cast<Int128>(out->num) * rhs.den +
                   (op == '+' ? 1 : -1) * static_cast<Int128>(rhs.num) * out->den;
      Int128 den = static_cast<Int128>(out->den) * rhs.den;
      if (!MakeRational(num, den, out)) return Fail("value too large");
    }
    return true;
  }

  bool ParseTerm(Rational* out) {
    if (!ParseFactor(out)) return false;
    while (Peek('*') || Peek('/')) {
      char op = s_[pos_++];
      Rational rhs;
      if (!ParseFactor(&rhs)) return false;
      Int128 num, den;
      if (op == '*') {
        num = static_cast<Int128>(out->num) * rhs.num;
        den = static_cast<Int128>(out->den) * rhs.den;
      } else {
        if (rhs.num == 0) return Fail("division by zero");
        num = static_cast<Int128>(out->num) * rhs.den;
        den = static_cast<Int128>(out->den) * rhs.num;
      }
      if (!MakeRational(num, den, out)) return Fail("value too large");
    }
    return true;
  }

  bool ParseFactor(Rational* out) {
    SkipSpaces();
    if (pos_ >= s_.size()) return Fail("expression ends too early");
    char c = s_[pos_];
    if (c == '(') {
      if (++depth_ > kMaxDepth) return Fail("parentheses nested too deeply");
      ++pos_;
      if (!ParseExpr(out)) return false;
      if (!Peek(')')) return Fail(absl::StrCat("missing ')' at offset ", pos_));
      ++pos_;
      --depth_;
      return true;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t start = pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      absl::string_view digits = s_.substr(start, pos_ - start);
      int64_t v;
      if (digits.size() > 18 || !absl::SimpleAtoi(digits, &v)) {
        return Fail(absl::StrCat("number ", digits, " is too large"));
      }
      literals_.push_back(v);
      out->num = v;
      out->den = 1;
      return true;
    }
    if (c == '-' || c == '+') {
      return Fail(
          absl::StrCat("unary '", std::string(1, c), "' at offset ", pos_, " is not allowed"));
    }
    return Fail(absl::StrCat("unexpected '", std::string(1, c), "' at offset ", pos_));
  }

  absl::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
  std::vector<int64_t> literals_;
};

CountdownVerdict Wrong(std::string reason) { return CountdownVerdict{false, std::move(reason)}; }

}  // namespace

bool IsCountdownReference(absl::string_view reference) {
  return absl::StartsWith(absl::StripAsciiWhitespace(reference), "target=");
}

std::string FormatCountdownReference(absl::Span<const int64_t> numbers, int64_t target) {
  return absl::StrCat("target=", target, ";numbers=", absl::StrJoin(numbers, ","));
}

absl::StatusOr<CountdownReference> ParseCountdownReference(absl::string_view reference) {
  auto bad = [reference](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("countdown reference \"", reference, "\": ", why,
                                                   " (expected \"target=N;numbers=A,B,...\")"));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(reference, ';');
  if (parts.size() != 2 || !absl::ConsumePrefix(&parts[0], "target=") ||
      !absl::ConsumePrefix(&parts[1], "numbers=")) {
    return bad("malformed");
  }
  CountdownReference out;
  if (!absl::SimpleAtoi(parts[0], &out.target)) return bad("target is not an integer");
  for (absl::string_view n : absl::StrSplit(parts[1], ',')) {
    int64_t v;
    if (!absl::SimpleAtoi(n, &v)) return bad(absl::StrCat("number \"", n, "\" is not an integer"));
    out.numbers.push_back(v);
  }
  return out;
}

CountdownVerdict VerifyCountdown(absl::string_view expression, absl::Span<const int64_t> numbers,
                                 int64_t target, bool require_all_numbers) {
  if (expression.size() > kMaxExpressionLength) return Wrong("expression too long");
  absl::string_view lhs = expression;
  size_t eq = expression.find('=');
  if (eq != absl::string_view::npos) {
    lhs = expression.substr(0, eq);
    absl::string_view claimed = absl::StripAsciiWhitespace(expression.substr(eq + 1));
    int64_t v;
    if (!absl::SimpleAtoi(claimed, &v)) {
      return Wrong(absl::StrCat("text after '=' is not an integer: \"", claimed, "\""));
    }
    if (v != target) return Wrong(absl::StrCat("claims ", v, " but the target is ", target));
  }
  ExpressionEvaluator evaluator(lhs);
  Rational value;
  if (!evaluator.Evaluate(&value)) return Wrong(evaluator.error());
  std::map<int64_t, int> available;
  for (int64_t n : numbers) ++available[n];
  for (int64_t v : evaluator.literals()) {
    auto it = available.find(v);
    if (it == available.end()) {
      bool known = std::find(numbers.begin(), numbers.end(), v) != numbers.end();
      return Wrong(known ? absl::StrCat("uses ", v, " more times than it is given")
                         : absl::StrCat("uses ", v, ", which is not among the numbers"));
    }
    if (--it->second == 0) available.erase(it);
  }
  if (require_all_numbers && !available.empty()) {
    return Wrong(absl::StrCat("does not use ", available.begin()->first));
  }
  if (value.den != 1 || value.num != target) {
    return Wrong(absl::StrCat("evaluates to ", RationalText(value), ", not ", target));
  }
  return CountdownVerdict{true, ""};
}

CountdownVerdict VerifyCountdownAnswer(absl::string_view expression, absl::string_view reference) {
  absl::StatusOr<CountdownReference> ref = ParseCountdownReference(reference);
  if (!ref.ok()) return Wrong(std::string(ref.status().message()));
  return VerifyCountdown(expression, ref->numbers, ref->target);
}

}  // namespace r1
