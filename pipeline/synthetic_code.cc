// Synthetic code tasks (see synthetic_code.h).
#include "pipeline/synthetic_code.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/random.h"
#include "nlohmann/json.hpp"
#include "pipeline/synthetic.h"

namespace r1 {
namespace {

struct TestCase {
  std::string input;
  std::string output;
};

// One drawn task: what the prompt asks, the worked solution, and how a test's output follows
// from its input.
struct CodeTask {
  std::string prompt;
  std::string thinking;
  std::string code;  // without the fence, ending in "\n"
  std::vector<TestCase> tests;
};

std::string RandomWord(SplitMix64& rng) {
  const int64_t n = rng.Between(3, 6);
  std::string word;
  for (int64_t i = 0; i < n; ++i) word.push_back(static_cast<char>('a' + rng.Below(26)));
  return word;
}

std::vector<int64_t> RandomInts(SplitMix64& rng, int64_t n, int32_t max_value) {
  std::vector<int64_t> values;
  for (int64_t i = 0; i < n; ++i) values.push_back(rng.Between(0, max_value));
  return values;
}

CodeTask Arith(SplitMix64& rng, const CodeTaskOptions& o, int64_t tests) {
  static const char* kOps[] = {"+", "-", "*"};
  static const char* kVerbs[] = {"add them", "subtract b from a", "multiply them"};
  const uint64_t op = rng.Below(3);
  CodeTask t;
  t.prompt = absl::StrCat("Read two integers a and b on one line and print a", kOps[op], "b.");
  t.thinking = absl::StrCat("Read a and b, ", kVerbs[op], ".");
  t.code = absl::StrCat("a, b = map(int, input().split())\nprint(a ", kOps[op], " b)\n");
  for (int64_t i = 0; i < tests; ++i) {
    const int64_t a = rng.Between(0, o.max_value), b = rng.Between(0, o.max_value);
    const int64_t r = op == 0 ? a + b : op == 1 ? a - b : a * b;
    t.tests.push_back({absl::StrCat(a, " ", b, "\n"), absl::StrCat(r, "\n")});
  }
  return t;
}

CodeTask Linear(SplitMix64& rng, const CodeTaskOptions& o, int64_t tests) {
  const int64_t k = rng.Between(2, 9), c = rng.Between(0, 9);
  CodeTask t;
  t.prompt = absl::StrCat("Read an integer n and print n*", k, "+", c, ".");
  t.thinking = absl::StrCat("Read n, multiply by ", k, ", add ", c, ".");
  t.code = absl::StrCat("n = int(input())\nprint(n * ", k, " + ", c, ")\n");
  for (int64_t i = 0; i < tests; ++i) {
    const int64_t n = rng.Between(0, o.max_value);
    t.tests.push_back({absl::StrCat(n, "\n"), absl::StrCat(n * k + c, "\n")});
  }
  return t;
}

CodeTask Reverse(SplitMix64& rng, int64_t tests) {
  CodeTask t{"Read a word and print it reversed.",
             "Read the word, reverse it with [::-1].",
             "s = input()\nprint(s[::-1])\n",
             {}};
  for (int64_t i = 0; i < tests; ++i) {
    std::string w = RandomWord(rng);
    t.tests.push_back({w + "\n", std::string(w.rbegin(), w.rend()) + "\n"});
  }
  return t;
}

CodeTask Upper(SplitMix64& rng, int64_t tests) {
  CodeTask t{"Read a word and print it in upper case.",
             "Read the word, use upper().",
             "s = input()\nprint(s.upper())\n",
             {}};
  for (int64_t i = 0; i < tests; ++i) {
    std::string w = RandomWord(rng);
    t.tests.push_back({w + "\n", absl::AsciiStrToUpper(w) + "\n"});
  }
  return t;
}

CodeTask Reduce(SplitMix64& rng, const CodeTaskOptions& o, int64_t tests) {
  static const char* kWords[] = {"maximum", "minimum", "sum"};
  static const char* kFunctions[] = {"max", "min", "sum"};
  const uint64_t f = rng.Below(3);
  CodeTask t;
  t.prompt = absl::StrCat("Read integers on one line and print their ", kWords[f], ".");
  t.thinking = absl::StrCat("Read the list, print its ", kFunctions[f], ".");
  t.code = absl::StrCat("xs = list(map(int, input().split()))\nprint(", kFunctions[f], "(xs))\n");
  for (int64_t i = 0; i < tests; ++i) {
    std::vector<int64_t> xs = RandomInts(rng, rng.Between(2, 5), o.max_value);
    int64_t r = f == 0   ? *std::max_element(xs.begin(), xs.end())
                : f == 1 ? *std::min_element(xs.begin(), xs.end())
                         : 0;
    if (f == 2) {
      for (int64_t x : xs) r += x;
    }
    t.tests.push_back({absl::StrJoin(xs, " ") + "\n", absl::StrCat(r, "\n")});
  }
  return t;
}

CodeTask Repeat(SplitMix64& rng, int64_t tests) {
  const int64_t k = rng.Between(2, 4);
  CodeTask t;
  t.prompt = absl::StrCat("Read a word and print it ", k, " times, separated by spaces.");
  t.thinking = absl::StrCat("Read the word, join ", k, " copies with spaces.");
  t.code = absl::StrCat("s = input()\nprint(' '.join([s] * ", k, "))\n");
  for (int64_t i = 0; i < tests; ++i) {
    std::string w = RandomWord(rng);
    t.tests.push_back({w + "\n", absl::StrJoin(std::vector<std::string>(k, w), " ") + "\n"});
  }
  return t;
}

CodeTask MakeTask(const std::string& name, SplitMix64& rng, const CodeTaskOptions& o) {
  const int64_t tests = rng.Between(o.min_tests, o.max_tests);
  if (name == "arith") return Arith(rng, o, tests);
  if (name == "linear") return Linear(rng, o, tests);
  if (name == "reverse") return Reverse(rng, tests);
  if (name == "upper") return Upper(rng, tests);
  if (name == "reduce") return Reduce(rng, o, tests);
  return Repeat(rng, tests);  // ValidateCodeTaskOptions admits only the known names
}

}  // namespace

const std::vector<std::string>& CodeTaskNames() {
  static const auto* names =
      new std::vector<std::string>{"arith", "linear", "reverse", "upper", "reduce", "repeat"};
  return *names;
}

absl::Status ValidateCodeTaskOptions(const CodeTaskOptions& o) {
  if (o.tasks.empty()) return absl::InvalidArgumentError("code option tasks is empty");
  for (const std::string& task : o.tasks) {
    const auto& known = CodeTaskNames();
    if (std::find(known.begin(), known.end(), task) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("code option tasks: unknown task \"", task,
                                                     "\" (known: ", absl::StrJoin(known, ", "),
                                                     ")"));
    }
  }
  if (o.max_value < 1 || o.max_value > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("code option max_value = ", o.max_value, ": not in 1..1000000"));
  }
  if (o.min_tests < 1 || o.min_tests > 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("code option min_tests = ", o.min_tests, ": not in 1..8"));
  }
  if (o.max_tests < o.min_tests || o.max_tests > 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("code option max_tests = ", o.max_tests, ": not in min_tests..8"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Example>> GenerateCodeTasks(const CodeTaskOptions& options,
                                                       uint64_t seed, int64_t count) {
  if (count < 0) return absl::InvalidArgumentError(absl::StrCat("count must be >= 0, got ", count));
  if (absl::Status s = ValidateCodeTaskOptions(options); !s.ok()) return s;
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    SplitMix64 rng(ExampleSeed(seed, static_cast<uint64_t>(i)));
    const std::string& name = options.tasks[rng.Below(options.tasks.size())];
    CodeTask t = MakeTask(name, rng, options);
    nlohmann::json tests = nlohmann::json::array();
    for (const TestCase& c : t.tests) tests.push_back({{"input", c.input}, {"output", c.output}});
    Example ex;
    ex.id = absl::StrCat("code-", seed, "-", i);
    ex.task = "code";
    ex.prompt = std::move(t.prompt);
    ex.reference = nlohmann::json{{"tests", tests}}.dump();
    ex.solution = R1Response(t.thinking, absl::StrCat("```python\n", t.code, "```"));
    out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace r1
