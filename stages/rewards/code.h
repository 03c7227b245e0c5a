// The code reward: runs the last fenced code block of a response against the example's tests in
// the sandbox (sandbox/sandbox.h). Tests are stdin/stdout cases (output compared after trimming
// trailing whitespace) or assert-style test programs appended to the solution. Python 3 always;
// C++ (g++) for ```cpp blocks.
#ifndef R1_STAGES_REWARDS_CODE_H_
#define R1_STAGES_REWARDS_CODE_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stages/rewards/reward.h"

namespace r1 {

// An example's tests. The reference of a code example is their JSON (see ParseCodeTests).
struct CodeTests {
  struct Case {
    std::string input;   // stdin
    std::string output;  // expected stdout
  };
  std::vector<Case> cases;
  // Assert-style programs: each is appended to the solution and run once; passing = exit 0.
  std::vector<std::string> test_programs;
  size_t size() const { return cases.size() + test_programs.size(); }
};

// Parses a code reference. Accepted JSON:
//   [{"input": "...", "output": "..."}, ...]
//   {"tests": [...as above...], "test_code": "..." or ["...", ...]}   (either key, or both)
//   {"inputs": ["..."], "outputs": ["..."]}                           (APPS / TACO input_output)
//   {"input_output": "<the object above as a JSON string>"}           (an APPS record's field)
// InvalidArgument naming the problem: not JSON, no tests, a case without string input/output,
// inputs and outputs of different lengths, call-based tests ("fn_name", not supported).
absl::StatusOr<CodeTests> ParseCodeTests(absl::string_view reference);

enum class CodeLanguage { kPython, kCpp };

struct CodeBlock {
  std::string tag;  // the fence's info word, lower-cased ("python", "cpp", "" when none)
  std::string code;
  std::optional<CodeLanguage> language;  // nullopt: a language this reward cannot run
};

// The last complete ``` fenced block of the answer: the text after the last "</think>" when there
// is one, else the whole response. Fences may stand anywhere on a line ("<answer>```python");
// the info word runs to the end of the opening line, the code to the next "```". A block without
// its closing fence does not count; neither does ```inline code```. An untagged block is
// `untagged` (python/py/python3/py3 and cpp/c++/cxx/cc tags are recognised).
std::optional<CodeBlock> ExtractLastCodeBlock(absl::string_view response, CodeLanguage untagged);

// Whether a program's stdout matches the expected output: "\r\n" read as "\n", trailing
// whitespace of every line and trailing blank lines ignored.
bool OutputsMatch(absl::string_view actual, absl::string_view expected);

// What became of one test.
enum class CaseOutcome {
  kPassed,
  kWrongAnswer,   // ran to exit 0 with other output; or an AssertionError of a test program
  kTimeout,       // CPU limit or wall-clock timeout
  kRuntimeError,  // any other failure: non-zero exit, a signal, output over the cap
  kCompileError,  // the solution does not compile (Python: a SyntaxError before running)
  kSandboxError,  // the sandbox failed; not the program's fault
};
constexpr int kCaseOutcomeCount = 6;
// "passed", "wrong_answer", "timeout", "runtime_error", "compile_error", "sandbox_error".
const char* CaseOutcomeName(CaseOutcome outcome);

struct CodeRewardOptions {
  bool all_or_nothing = false;  // reward = 1 only if every test passes; else the fraction
  CodeLanguage untagged = CodeLanguage::kPython;  // the language of a block without a tag
  std::string python;                  // interpreter; empty: /usr/bin/python3, else python3 in PATH
  std::string cxx = "g++";             // C++ compiler (path or name in PATH)
  double timeout_s = 10;               // wall clock per test; CPU limit = ceil(timeout_s)
  double compile_timeout_s = 30;       // wall clock (and CPU) for compiling
  int64_t memory_mb = 512;             // address space per run (compiling: at least 2048)
  int64_t max_output_bytes = 1 << 20;  // stdout and stderr each
  int64_t max_processes = 32;          // processes per run (RLIMIT_NPROC of its uid)
  int32_t max_parallel = 4;            // tests running at once (all responses together)
  bool allow_unisolated = false;       // run even where no network namespace can be made
  // As root, runs use uids uid_base .. uid_base + max_parallel - 1 (ids no one else uses; give
  // each r1 process on a host its own range).
  int64_t uid_base = 61000;
  std::string sandbox_exec;  // the r1-sandbox-exec helper; empty: found (sandbox.h)
};

struct CaseResult {
  CaseOutcome outcome = CaseOutcome::kSandboxError;
  std::string detail;  // for people: why it failed (truncated output, error line); empty if passed
  double seconds = 0;  // wall time of the run
};

struct CodeGrade {
  double value = 0;                // the reward
  std::optional<CodeBlock> block;  // nullopt: no code block in the answer
  std::string compile_error;       // the compiler's message, when compiling failed
  std::vector<CaseResult> cases;   // one per test: stdin/stdout cases first, then test programs
  int64_t counts[kCaseOutcomeCount] = {};  // cases by outcome
};

// Grades responses; holds the sandbox. Thread-safe (Grade may run concurrently).
class CodeGrader {
 public:
  // Creates the sandbox and checks that the Python interpreter runs inside it. Errors: a bad
  // option (InvalidArgument), no helper (NotFound), no network isolation without
  // allow_unisolated (FailedPrecondition naming it), an interpreter that does not run.
  static absl::StatusOr<std::unique_ptr<CodeGrader>> Create(const CodeRewardOptions& options);
  ~CodeGrader();

  // Runs `response`'s last code block against `tests`. A failing program is a low grade; an error
  // only when the runner itself cannot work (no temporary directory, ...).
  absl::StatusOr<CodeGrade> Grade(absl::string_view response, const CodeTests& tests) const;

  std::string Isolation() const;  // what the sandbox achieved here (SandboxIsolation::ToString)

 private:
  struct Impl;
  explicit CodeGrader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Registry factory ("code"). Params: mode ("fraction" | "all"), language ("python" | "cpp": of an
// untagged block), python, cxx, timeout_s, compile_timeout_s, memory_mb, max_output_bytes,
// max_processes, max_parallel, allow_unisolated, uid_base, sandbox_exec (see
// CodeRewardOptions). Compute
// reads the tests from the input's reference (ParseCodeTests; InvalidArgument when it has none);
// `extracted` is the code block; `counts` the tests by outcome (plus "tests" and, when it
// happens, "no_code"); `details` {"language", "cases": [{"outcome", "detail"}], "compile_error"}.
absl::StatusOr<std::unique_ptr<RuleReward>> MakeCodeReward(const nlohmann::json& params);

}  // namespace r1

#endif  // R1_STAGES_REWARDS_CODE_H_
