// Synthetic arithmetic, simple tasks and preference pairs (see synthetic.h).
#include "pipeline/synthetic.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

constexpr int kMaxDrawAttempts = 1000;

// Decimal digits of a non-negative number, least significant first (0 -> {0}).
std::vector<int> Digits(int64_t v) {
  std::vector<int> d;
  do {
    d.push_back(static_cast<int>(v % 10));
    v /= 10;
  } while (v > 0);
  return d;
}

int64_t Pow10(int n) {
  int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

// "7+5=12 carry 1, 4+8+1=13 carry 1, 3+1=4" for a + b, a, b >= 0.
std::string AddColumns(int64_t a, int64_t b) {
  std::vector<int> da = Digits(a), db = Digits(b);
  size_t shorter = std::min(da.size(), db.size());
  std::vector<std::string> cols;
  int carry = 0;
  for (size_t i = 0; i < std::max(da.size(), db.size()); ++i) {
    if (i >= shorter && carry == 0) break;
    std::vector<int> terms;
    if (i < da.size()) terms.push_back(da[i]);
    if (i < db.size()) terms.push_back(db[i]);
    if (carry > 0) terms.push_back(carry);
    int sum = 0;
    for (int t : terms) sum += t;
    std::string col = absl::StrCat(absl::StrJoin(terms, "+"), "=", sum);
    carry = sum / 10;
    if (carry > 0) absl::StrAppend(&col, " carry ", carry);
    cols.push_back(std::move(col));
  }
  return absl::StrJoin(cols, ", ");
}

// "13-7=6 borrow 1, 10-1-4=5 borrow 1, 5-1=4" for a - b, a >= b >= 0.
std::string SubtractColumns(int64_t a, int64_t b) {
  std::vector<int> da = Digits(a), db = Digits(b);
  std::vector<std::string> cols;
  int borrow = 0;
  for (size_t i = 0; i < da.size(); ++i) {
    if (i >= db.size() && borrow == 0) break;
    std::string expr = absl::StrCat(da[i]);
    int x = da[i] - borrow;
    if (borrow > 0) absl::StrAppend(&expr, "-1");
    if (i < db.size()) {
      absl::StrAppend(&expr, "-", db[i]);
      x -= db[i];
    }
    if (x < 0) {
      cols.push_back(absl::StrCat("1", expr, "=", x + 10, " borrow 1"));
      borrow = 1;
    } else {
      cols.push_back(absl::StrCat(expr, "=", x));
      borrow = 0;
    }
  }
  return absl::StrJoin(cols, ", ");
}

// "4*5=20 carry 2, 3*5+2=17" for a * d, a >= 0, 0 <= d <= 9.
std::string MultiplyColumns(int64_t a, int d) {
  std::vector<int> da = Digits(a);
  std::vector<std::string> cols;
  int carry = 0;
  for (int digit : da) {
    int p = digit * d + carry;
    std::string col = absl::StrCat(digit, "*", d);
    if (carry > 0) absl::StrAppend(&col, "+", carry);
    absl::StrAppend(&col, "=", p);
    carry = p / 10;
    if (carry > 0) absl::StrAppend(&col, " carry ", carry);
    cols.push_back(std::move(col));
  }
  return absl::StrJoin(cols, ", ");
}

// One step "A op B: ..., so C." of the chain of thought.
std::string StepText(int64_t a, char op, int64_t b, int64_t c) {
  std::string head = absl::StrCat(a, std::string(1, op), b);
  if (a < 0 || b < 0 || (a < 10 && b < 10)) return absl::StrCat(head, "=", c, ".");
  switch (op) {
    case '+':
      return absl::StrCat(head, ": ", AddColumns(a, b), ", so ", c, ".");
    case '-':
      if (a >= b) return absl::StrCat(head, ": ", SubtractColumns(a, b), ", so ", c, ".");
      return absl::StrCat(head, ": ", b, "-", a, ": ", SubtractColumns(b, a), ", so ", -c,
                          ", negated ", c, ".");
    case '*': {
      int64_t x = a, y = b;
      std::string prefix = head;
      if (y >= 10 && x < 10) {
        std::swap(x, y);
        prefix = absl::StrCat(head, ": ", x, "*", y);
      }
      if (y < 10) {
        return absl::StrCat(prefix, ": ", MultiplyColumns(x, static_cast<int>(y)), ", so ", c, ".");
      }
      std::vector<int> dy = Digits(y);
      std::vector<std::string> parts;
      std::vector<int64_t> partials;
      for (size_t i = dy.size(); i > 0; --i) {
        if (dy[i - 1] == 0) continue;
        int64_t m = dy[i - 1] * Pow10(static_cast<int>(i - 1));
        partials.push_back(x * m);
        parts.push_back(absl::StrCat(x, "*", m, "=", x * m));
      }
      std::string text = absl::StrCat(prefix, ": ", absl::StrJoin(parts, ", "));
      if (partials.size() > 1) {
        absl::StrAppend(&text, ", ", absl::StrJoin(partials, "+"), "=", c, ".");
      } else {
        absl::StrAppend(&text, ", so ", c, ".");
      }
      return text;
    }
  }
  return absl::StrCat(head, "=", c, ".");
}

bool Apply(int64_t a, char op, int64_t b, int64_t* out) {
  switch (op) {
    case '+':
      return !__builtin_add_overflow(a, b, out);
    case '-':
      return !__builtin_sub_overflow(a, b, out);
    case '*':
      return !__builtin_mul_overflow(a, b, out);
  }
  return false;
}

// Draws one problem; false if it overflowed or went negative when that is not allowed.
bool TryDrawArithmetic(const ArithmeticOptions& o, SplitMix64& rng, ArithmeticProblem* p) {
  int n = static_cast<int>(rng.Between(o.min_operands, o.max_operands));
  std::vector<int64_t> operands;
  std::string ops;
  for (int i = 0; i < n; ++i) {
    int digits = static_cast<int>(rng.Between(o.min_digits, o.max_digits));
    int64_t lo = digits == 1 ? 0 : Pow10(digits - 1);
    operands.push_back(rng.Between(lo, Pow10(digits) - 1));
    if (i > 0) ops.push_back(o.operators[rng.Below(o.operators.size())]);
  }
  absl::StatusOr<ArithmeticProblem> solved = SolveArithmetic(operands, ops);
  if (!solved.ok()) return false;
  if (!o.allow_negative && solved->went_negative) return false;
  *p = *std::move(solved);
  return true;
}

const std::vector<std::string>& Words() {
  static const auto* words = new std::vector<std::string>{
      "cat",   "dog",   "sun",   "moon",  "tree",  "fish",  "bird",  "book",  "cake",  "rain",
      "star",  "milk",  "road",  "hat",   "cup",   "lamp",  "door",  "ship",  "king",  "frog",
      "apple", "house", "green", "water", "river", "stone", "cloud", "bread", "chair", "light",
      "music", "horse", "table", "plant", "smile", "train", "ocean", "tiger", "paper", "clock",
      "happy", "quick", "blue",  "red",   "sand",  "wind",  "snow",  "leaf",  "salt",  "gold"};
  return *words;
}

const std::string& Pick(SplitMix64& rng, const std::vector<std::string>& items) {
  return items[rng.Below(items.size())];
}

std::string SomeWords(SplitMix64& rng, int64_t max_words) {
  int64_t n = rng.Between(1, max_words);
  std::vector<std::string> words;
  for (int64_t i = 0; i < n; ++i) words.push_back(Pick(rng, Words()));
  return absl::StrJoin(words, " ");
}

const std::vector<std::string>& Refusals() {
  static const auto* refusals = new std::vector<std::string>{
      "I don't know.", "I can't help with that.", "That is not something I can answer.",
      "Please ask someone else."};
  return *refusals;
}

// One simple-task example; `wrong` receives a plausible wrong answer (may equal the right one).
Example MakeSimpleExample(const std::string& task, const SimpleTaskOptions& options,
                          SplitMix64& rng, std::string* wrong) {
  Example ex;
  ex.task = task;
  if (task == "echo") {
    std::string text = SomeWords(rng, 3);
    ex.prompt = "Repeat: " + text;
    ex.reference = text;
    *wrong = text + " " + text;
  } else if (task == "reverse") {
    std::string word = Pick(rng, Words());
    ex.prompt = "Reverse the word: " + word;
    ex.reference = std::string(word.rbegin(), word.rend());
    *wrong = word;
  } else if (task == "uppercase") {
    std::string text = SomeWords(rng, 3);
    ex.prompt = "Uppercase: " + text;
    ex.reference = absl::AsciiStrToUpper(text);
    *wrong = text;
  } else if (task == "successor") {
    if (rng.Percent(50)) {
      int64_t n = rng.Between(0, 98);
      ex.prompt = absl::StrCat("What comes after ", n, "?");
      ex.reference = absl::StrCat(n + 1);
      *wrong = absl::StrCat(n == 0 ? 2 : n - 1);
    } else {
      char c = static_cast<char>('a' + rng.Below(25));
      ex.prompt = absl::StrCat("What comes after the letter ", std::string(1, c), "?");
      ex.reference = std::string(1, static_cast<char>(c + 1));
      *wrong = std::string(1, c == 'a' ? 'c' : static_cast<char>(c - 1));
    }
  } else if (task == "greeting") {
    static const auto* greetings = new std::vector<std::string>{
        "Hello!", "Hi", "Hey there", "Good morning", "Hello, how are you?"};
    ex.prompt = Pick(rng, *greetings);
    ex.reference = "Hello! How can I help you today?";
    *wrong = "Go away.";
  } else {  // identity
    static const auto* questions = new std::vector<std::string>{
        "Who are you?", "What is your name?", "Introduce yourself.", "What are you?"};
    ex.prompt = Pick(rng, *questions);
    ex.reference =
        absl::StrCat("I am ", options.assistant_name, ", an AI assistant. How can I help you?");
    *wrong = "I am a human.";
  }
  ex.solution = ex.reference;
  return ex;
}

absl::Status ValidateSimpleOptions(const SimpleTaskOptions& options) {
  if (options.tasks.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "simple tasks: \"tasks\" is empty (known: ", absl::StrJoin(SimpleTaskNames(), ", "), ")"));
  }
  for (const std::string& t : options.tasks) {
    if (std::find(SimpleTaskNames().begin(), SimpleTaskNames().end(), t) ==
        SimpleTaskNames().end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown simple task \"", t, "\" (known: ", absl::StrJoin(SimpleTaskNames(), ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCount(int64_t count) {
  if (count < 0) return absl::InvalidArgumentError(absl::StrCat("count must be >= 0, got ", count));
  return absl::OkStatus();
}

}  // namespace

uint64_t ExampleSeed(uint64_t seed, uint64_t index) {
  SplitMix64 a(seed);
  uint64_t s = a.Next();
  SplitMix64 b(s ^ (index * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL));
  return b.Next();
}

std::string R1Response(const std::string& thinking, const std::string& answer) {
  return absl::StrCat("<think>", thinking, "</think><answer>", answer, "</answer>");
}

absl::Status ValidateArithmeticOptions(const ArithmeticOptions& o) {
  auto bad = [](absl::string_view field, int64_t value, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("arithmetic option ", field, " = ", value, ": ", why));
  };
  if (o.min_digits < 1 || o.min_digits > 9) return bad("min_digits", o.min_digits, "not in 1..9");
  if (o.max_digits < o.min_digits || o.max_digits > 9) {
    return bad("max_digits", o.max_digits, "not in min_digits..9");
  }
  if (o.min_operands < 2 || o.min_operands > 8) {
    return bad("min_operands", o.min_operands, "not in 2..8");
  }
  if (o.max_operands < o.min_operands || o.max_operands > 8) {
    return bad("max_operands", o.max_operands, "not in min_operands..8");
  }
  if (o.terse_percent < 0 || o.terse_percent > 100) {
    return bad("terse_percent", o.terse_percent, "not in 0..100");
  }
  if (o.operators.empty())
    return absl::InvalidArgumentError("arithmetic option operators is empty");
  for (char c : o.operators) {
    if (c != '+' && c != '-' && c != '*') {
      return absl::InvalidArgumentError(absl::StrCat("arithmetic option operators = \"",
                                                     o.operators, "\": '", std::string(1, c),
                                                     "' is not one of + - *"));
    }
  }
  if (o.operators.find('*') != std::string::npos && o.max_digits * o.max_operands > 18) {
    return bad("max_digits * max_operands", o.max_digits * o.max_operands,
               "products could exceed 18 digits; lower max_digits or max_operands");
  }
  return absl::OkStatus();
}

absl::StatusOr<ArithmeticProblem> SolveArithmetic(const std::vector<int64_t>& operands,
                                                  const std::string& ops) {
  if (operands.size() < 2 || ops.size() + 1 != operands.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("arithmetic problem needs n >= 2 operands and n-1 operators, got ",
                     operands.size(), " and ", ops.size()));
  }
  ArithmeticProblem p;
  p.operands = operands;
  p.ops = ops;
  p.expression = absl::StrCat(operands[0]);
  for (size_t i = 0; i < operands.size(); ++i) {
    if (operands[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("arithmetic operand ", i, " = ", operands[i], " is negative"));
    }
    if (i > 0) {
      if (ops[i - 1] != '+' && ops[i - 1] != '-' && ops[i - 1] != '*') {
        return absl::InvalidArgumentError(absl::StrCat(
            "arithmetic operator '", std::string(1, ops[i - 1]), "' is not one of + - *"));
      }
      absl::StrAppend(&p.expression, std::string(1, ops[i - 1]), operands[i]);
    }
  }
  auto overflow = [&p]() {
    return absl::InvalidArgumentError(absl::StrCat(p.expression, " overflows 64 bits"));
  };
  // Multiplications first, then + and - from left to right.
  std::vector<std::string> steps, terse;
  std::vector<int64_t> terms = {operands[0]};
  std::string term_ops;
  for (size_t i = 1; i < operands.size(); ++i) {
    char op = ops[i - 1];
    if (op == '*') {
      int64_t product;
      if (!Apply(terms.back(), '*', operands[i], &product)) return overflow();
      steps.push_back(StepText(terms.back(), '*', operands[i], product));
      terse.push_back(absl::StrCat(terms.back(), "*", operands[i], "=", product, "."));
      terms.back() = product;
    } else {
      terms.push_back(operands[i]);
      term_ops.push_back(op);
    }
  }
  int64_t acc = terms[0];
  for (size_t i = 1; i < terms.size(); ++i) {
    int64_t next;
    if (!Apply(acc, term_ops[i - 1], terms[i], &next)) return overflow();
    if (next < 0) p.went_negative = true;
    steps.push_back(StepText(acc, term_ops[i - 1], terms[i], next));
    terse.push_back(absl::StrCat(acc, std::string(1, term_ops[i - 1]), terms[i], "=", next, "."));
    acc = next;
  }
  p.result = acc;
  p.thinking = absl::StrJoin(steps, " ");
  p.terse_thinking = absl::StrJoin(terse, " ");
  return p;
}

absl::StatusOr<ArithmeticProblem> MakeArithmeticProblem(const ArithmeticOptions& options,
                                                        uint64_t seed) {
  R1_RETURN_IF_ERROR(ValidateArithmeticOptions(options));
  SplitMix64 rng(seed);
  ArithmeticProblem p;
  for (int attempt = 0; attempt < kMaxDrawAttempts; ++attempt) {
    if (TryDrawArithmetic(options, rng, &p)) return p;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "arithmetic options (operators \"", options.operators, "\", ", options.max_operands,
      " operands, allow_negative=false) found no valid problem in ", kMaxDrawAttempts, " draws"));
}

absl::StatusOr<std::vector<Example>> GenerateArithmetic(const ArithmeticOptions& options,
                                                        uint64_t seed, int64_t count) {
  R1_RETURN_IF_ERROR(ValidateCount(count));
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    R1_ASSIGN_OR_RETURN(
        ArithmeticProblem p,
        MakeArithmeticProblem(options, ExampleSeed(seed, static_cast<uint64_t>(i))));
    Example ex;
    ex.id = absl::StrCat("arithmetic-", seed, "-", i);
    ex.task = "arithmetic";
    ex.prompt = absl::StrCat("What is ", p.expression, "?");
    ex.reference = absl::StrCat(p.result);
    // The style draw has its own stream, so the problems do not depend on terse_percent.
    SplitMix64 style(ExampleSeed(seed, static_cast<uint64_t>(i)) ^ 0x7E55E5717E55E571ull);
    const bool terse = options.terse_percent > 0 && style.Percent(options.terse_percent);
    ex.solution = R1Response(terse ? p.terse_thinking : p.thinking, ex.reference);
    out.push_back(std::move(ex));
  }
  return out;
}

const std::vector<std::string>& SimpleTaskNames() {
  static const auto* names = new std::vector<std::string>{"echo",      "reverse",  "uppercase",
                                                          "successor", "greeting", "identity"};
  return *names;
}

absl::StatusOr<std::vector<Example>> GenerateSimpleTasks(const SimpleTaskOptions& options,
                                                         uint64_t seed, int64_t count) {
  R1_RETURN_IF_ERROR(ValidateCount(count));
  R1_RETURN_IF_ERROR(ValidateSimpleOptions(options));
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    SplitMix64 rng(ExampleSeed(seed, static_cast<uint64_t>(i)));
    std::string wrong;
    Example ex = MakeSimpleExample(Pick(rng, options.tasks), options, rng, &wrong);
    ex.id = absl::StrCat("simple-", seed, "-", i);
    out.push_back(std::move(ex));
  }
  return out;
}

absl::StatusOr<std::vector<PreferencePair>> GeneratePreferencePairs(
    const PreferenceOptions& options, uint64_t seed, int64_t count) {
  R1_RETURN_IF_ERROR(ValidateCount(count));
  if (options.arithmetic_percent < 0 || options.arithmetic_percent > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        "preference option arithmetic_percent = ", options.arithmetic_percent, ": not in 0..100"));
  }
  if (options.arithmetic_percent > 0) {
    R1_RETURN_IF_ERROR(ValidateArithmeticOptions(options.arithmetic));
  }
  if (options.arithmetic_percent < 100) R1_RETURN_IF_ERROR(ValidateSimpleOptions(options.simple));
  std::vector<PreferencePair> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    SplitMix64 rng(ExampleSeed(seed, static_cast<uint64_t>(i)));
    PreferencePair pair;
    pair.id = absl::StrCat("preference-", seed, "-", i);
    uint64_t kind = rng.Below(3);  // 0: wrong answer, 1: bare wrong answer, 2: refusal
    std::string wrong;
    if (rng.Below(100) < static_cast<uint64_t>(options.arithmetic_percent)) {
      R1_ASSIGN_OR_RETURN(ArithmeticProblem p,
                          MakeArithmeticProblem(options.arithmetic, rng.Next()));
      int64_t delta = rng.Between(1, 10) * (rng.Percent(50) ? 1 : -1);
      std::string right = absl::StrCat(p.result);
      wrong = absl::StrCat(p.result + delta);
      pair.prompt = absl::StrCat("What is ", p.expression, "?");
      pair.chosen = R1Response(p.thinking, right);
      if (kind == 0) {
        pair.rejected = R1Response(p.thinking, wrong);
      } else if (kind == 1) {
        pair.rejected = R1Response("", wrong);
      }
    } else {
      Example ex = MakeSimpleExample(Pick(rng, options.simple.tasks), options.simple, rng, &wrong);
      pair.prompt = ex.prompt;
      pair.chosen = ex.solution;
      if (kind != 2) pair.rejected = wrong;
    }
    if (pair.rejected.empty() || pair.rejected == pair.chosen) {
      pair.rejected = Pick(rng, Refusals());
    }
    out.push_back(std::move(pair));
  }
  return out;
}

}  // namespace r1
