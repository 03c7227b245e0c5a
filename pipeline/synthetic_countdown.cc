// Countdown generation (see synthetic_countdown.h).
#include "pipeline/synthetic_countdown.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "pipeline/countdown_verifier.h"
#include "pipeline/synthetic.h"

namespace r1 {
namespace {

constexpr int kMaxDraws = 1000;
constexpr int kMaxMergeAttempts = 32;
constexpr int64_t kMaxConstructedValue = 1000000000;  // keeps products far from overflow

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

}  // namespace r1
