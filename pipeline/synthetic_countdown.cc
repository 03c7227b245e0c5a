// Countdown generation and exact verification (see synthetic_countdown.h).
#include "pipeline/synthetic_countdown.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <numeric>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "pipeline/synthetic.h"

namespace r1 {
namespace {

constexpr int kMaxDraws = 1000;
constexpr int kMaxMergeAttempts = 32;
constexpr int64_t kMaxConstructedValue = 1000000000;  // keeps products far from overflow
constexpr int64_t kMaxMagnitude = int64_t{1} << 62;   // verifier: larger values are rejected
constexpr int kMaxDepth = 64;                         // verifier: parenthesis nesting
constexpr size_t kMaxExpressionLength = 4096;

// An exact rational num/den with den > 0 and gcd(num, den) == 1.
struct Rational {
  int64_t num = 0;
  int64_t den = 1;
};

__int128 Gcd(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Normalises num/den (den != 0); false if the result does not fit kMaxMagnitude.
bool MakeRational(__int128 num, __int128 den, Rational* out) {
  if (den < 0) {
    num = -num;
    den = -den;
  }
  __int128 g = Gcd(num, den);
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
      __int128 num = static_cast<__int128>(out->num) * rhs.den +
                     (op == '+' ? 1 : -1) * static_cast<__int128>(rhs.num) * out->den;
      __int128 den = static_cast<__int128>(out->den) * rhs.den;
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
      __int128 num, den;
      if (op == '*') {
        num = static_cast<__int128>(out->num) * rhs.num;
        den = static_cast<__int128>(out->den) * rhs.den;
      } else {
        if (rhs.num == 0) return Fail("division by zero");
        num = static_cast<__int128>(out->num) * rhs.den;
        den = static_cast<__int128>(out->den) * rhs.num;
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

// A partial expression during construction.
struct Item {
  int64_t value;
  std::string text;
  int precedence;  // 3: a number, 2: * or /, 1: + or -
};

int Precedence(char op) { return op == '+' || op == '-' ? 1 : 2; }

// Combines a op b into *out; false if the operation breaks the rules (non-positive or
// non-integer result, trivial division, too large).
bool Combine(const Item& a, char op, const Item& b, Item* out, std::string* step) {
  int64_t v;
  switch (op) {
    case '+':
      v = a.value + b.value;
      break;
    case '-':
      if (a.value <= b.value) return false;
      v = a.value - b.value;
      break;
    case '*':
      if (b.value > kMaxConstructedValue / std::max<int64_t>(a.value, 1)) return false;
      v = a.value * b.value;
      break;
    case '/':
      if (b.value <= 1 || a.value % b.value != 0) return false;
      v = a.value / b.value;
      break;
    default:
      return false;
  }
  if (v <= 0 || v > kMaxConstructedValue) return false;
  int p = Precedence(op);
  std::string left = a.precedence < p ? "(" + a.text + ")" : a.text;
  bool right_parens = b.precedence < p || (b.precedence == p && (op == '-' || op == '/'));
  std::string right = right_parens ? "(" + b.text + ")" : b.text;
  *out = Item{v, absl::StrCat(left, std::string(1, op), right), p};
  *step = absl::StrCat(a.value, std::string(1, op), b.value, "=", v, ".");
  return true;
}

// Combines `numbers` in a random order with random operators of `o` into one expression
// (Countdown rules: every intermediate result a positive integer). False if a merge found no
// legal operation.
bool BuildExpression(const CountdownOptions& o, SplitMix64& rng, std::vector<int64_t> numbers,
                     Item* result, std::vector<std::string>* steps) {
  std::vector<Item> items;
  for (int64_t v : numbers) items.push_back(Item{v, absl::StrCat(v), 3});
  steps->clear();
  while (items.size() > 1) {
    bool merged = false;
    for (int attempt = 0; attempt < kMaxMergeAttempts && !merged; ++attempt) {
      size_t i = rng.Below(items.size());
      size_t j = rng.Below(items.size() - 1);
      if (j >= i) ++j;
      char op = o.operators[rng.Below(o.operators.size())];
      Item combined;
      std::string step;
      if (!Combine(items[i], op, items[j], &combined, &step)) continue;
      items.erase(items.begin() + static_cast<long>(std::max(i, j)));
      items.erase(items.begin() + static_cast<long>(std::min(i, j)));
      items.push_back(std::move(combined));
      steps->push_back(std::move(step));
      merged = true;
    }
    if (!merged) return false;
  }
  *result = std::move(items[0]);
  return true;
}

// `k` of `numbers`, chosen at random (a Fisher-Yates shuffle with our own generator).
std::vector<int64_t> RandomSubset(const std::vector<int64_t>& numbers, int k, SplitMix64& rng) {
  const int n = static_cast<int>(numbers.size());
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int i = n - 1; i > 0; --i) {
    std::swap(order[static_cast<size_t>(i)], order[rng.Below(static_cast<uint64_t>(i) + 1)]);
  }
  std::vector<int64_t> subset;
  for (int i = 0; i < k; ++i) {
    subset.push_back(numbers[static_cast<size_t>(order[static_cast<size_t>(i)])]);
  }
  return subset;
}

bool TryDrawCountdown(const CountdownOptions& o, SplitMix64& rng, CountdownProblem* p) {
  int n = static_cast<int>(rng.Between(o.min_numbers, o.max_numbers));
  p->numbers.clear();
  for (int i = 0; i < n; ++i) p->numbers.push_back(rng.Between(o.min_number, o.max_number));
  // The subset size is drawn after the shuffle, as it always was: seeds keep their problems.
  std::vector<int64_t> shuffled = RandomSubset(p->numbers, n, rng);
  int k = o.use_all_numbers ? n : static_cast<int>(rng.Between(2, n));
  shuffled.resize(static_cast<size_t>(k));
  Item result;
  std::vector<std::string> steps;
  if (!BuildExpression(o, rng, std::move(shuffled), &result, &steps)) return false;
  if (result.value < o.min_target || result.value > o.max_target) return false;
  p->target = result.value;
  p->solution = result.text;
  p->thinking = absl::StrJoin(steps, " ");
  return true;
}

// Up to o.max_wrong_tries attempts that miss the target, written before the solution's steps:
// "8+9=17, not 21. 12+9=21." Each try is a random expression over a random subset of the
// numbers; no two tries are the same expression (and none is the solution: they miss).
void AddWrongTries(const CountdownOptions& o, uint64_t seed, CountdownProblem* p) {
  SplitMix64 rng(seed ^ 0x5EA4C4A77E3795ull);  // its own stream: the problem does not change
  const int64_t want = rng.Between(0, o.max_wrong_tries);
  const int n = static_cast<int>(p->numbers.size());
  std::vector<std::string> tries;
  std::vector<std::string> seen;  // the tries' expressions
  for (int draw = 0; draw < kMaxMergeAttempts && static_cast<int64_t>(tries.size()) < want;
       ++draw) {
    const int k = o.use_all_numbers ? n : static_cast<int>(rng.Between(2, n));
    Item result;
    std::vector<std::string> steps;
    if (!BuildExpression(o, rng, RandomSubset(p->numbers, k, rng), &result, &steps)) continue;
    if (result.value == p->target ||
        std::find(seen.begin(), seen.end(), result.text) != seen.end()) {
      continue;
    }
    seen.push_back(result.text);
    steps.back().pop_back();  // the final '.'
    absl::StrAppend(&steps.back(), ", not ", p->target, ".");
    tries.push_back(absl::StrJoin(steps, " "));
  }
  if (tries.empty()) return;
  p->thinking = absl::StrCat(absl::StrJoin(tries, " "), " ", p->thinking);
}

}  // namespace

absl::Status ValidateCountdownOptions(const CountdownOptions& o) {
  auto bad = [](absl::string_view field, int64_t value, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("countdown option ", field, " = ", value, ": ", why));
  };
  if (o.min_numbers < 2 || o.min_numbers > 8)
    return bad("min_numbers", o.min_numbers, "not in 2..8");
  if (o.max_numbers < o.min_numbers || o.max_numbers > 8) {
    return bad("max_numbers", o.max_numbers, "not in min_numbers..8");
  }
  if (o.min_number < 1 || o.min_number > 10000) {
    return bad("min_number", o.min_number, "not in 1..10000");
  }
  if (o.max_number < o.min_number || o.max_number > 10000) {
    return bad("max_number", o.max_number, "not in min_number..10000");
  }
  if (o.min_target < 1) return bad("min_target", o.min_target, "must be >= 1");
  if (o.max_target < o.min_target) return bad("max_target", o.max_target, "is below min_target");
  if (o.max_wrong_tries < 0 || o.max_wrong_tries > 8) {
    return bad("max_wrong_tries", o.max_wrong_tries, "not in 0..8");
  }
  if (o.operators.empty()) return absl::InvalidArgumentError("countdown option operators is empty");
  for (char c : o.operators) {
    if (c != '+' && c != '-' && c != '*' && c != '/') {
      return absl::InvalidArgumentError(absl::StrCat("countdown option operators = \"", o.operators,
                                                     "\": '", std::string(1, c),
                                                     "' is not one of + - * /"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CountdownProblem> MakeCountdownProblem(const CountdownOptions& options,
                                                      uint64_t seed) {
  R1_RETURN_IF_ERROR(ValidateCountdownOptions(options));
  SplitMix64 rng(seed);
  CountdownProblem p;
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    if (!TryDrawCountdown(options, rng, &p)) continue;
    CountdownVerdict check = VerifyCountdown(p.solution, p.numbers, p.target);
    if (!check.correct) {
      return absl::InternalError(absl::StrCat("countdown construction produced \"", p.solution,
                                              "\" = ", p.target, " which fails: ", check.reason));
    }
    if (options.max_wrong_tries > 0) AddWrongTries(options, seed, &p);
    return p;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "countdown options found no target in [", options.min_target, ", ", options.max_target,
      "] from numbers in [", options.min_number, ", ", options.max_number, "] with operators \"",
      options.operators, "\" in ", kMaxDraws, " draws"));
}

Example CountdownExample(const CountdownProblem& problem, const std::string& id) {
  Example ex;
  ex.id = id;
  ex.task = "countdown";
  ex.prompt = absl::StrCat("Using the numbers ", absl::StrJoin(problem.numbers, " "), ", make ",
                           problem.target, ". Use + - * / and each number at most once.");
  ex.reference = FormatCountdownReference(problem.numbers, problem.target);
  ex.solution = R1Response(problem.thinking, problem.solution);
  return ex;
}

absl::StatusOr<std::vector<Example>> GenerateCountdown(const CountdownOptions& options,
                                                       uint64_t seed, int64_t count) {
  if (count < 0) return absl::InvalidArgumentError(absl::StrCat("count must be >= 0, got ", count));
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    R1_ASSIGN_OR_RETURN(CountdownProblem p,
                        MakeCountdownProblem(options, ExampleSeed(seed, static_cast<uint64_t>(i))));
    out.push_back(CountdownExample(p, absl::StrCat("countdown-", seed, "-", i)));
  }
  return out;
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
