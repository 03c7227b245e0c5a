// Synthetic tasks for tiny models trained from scratch: multi-digit arithmetic with a step-by-step
// chain of thought in the R1 format, simple non-reasoning tasks with direct answers, and
// preference pairs built from both (for reward-model training). Countdown is in
// synthetic_countdown.h.
//
// Determinism: every generator is a pure function of (options, seed, index) using SplitMix64
// (never std:: distributions, whose output differs between standard libraries). Example i of a
// run depends only on (options, seed, i), so generating 100 examples yields the first 10 of
// generating 10, and a data cursor can resume anywhere.
//
// Formats (Example fields, see pipeline/datasets.h; ExampleToJson writes them as
// {"id","task","prompt","answer","solution"}):
//   arithmetic  prompt    "What is 47+85?"
//               reference "132"
//               solution  "<think>47+85: 7+5=12 carry 1, 4+8+1=13 carry 1, so 132.</think>"
//                         "<answer>132</answer>"
//               Multiplications are done first, then + and - from left to right, one step per
//               operation: "A+B: <columns>, so C." (column addition with carries),
//               "A-B: <columns>, so C." (column subtraction with borrows; A-B with A<B is
//               written "A-B: B-A: <columns>, so C, negated -C."), "A*d: <columns>, so C." for a
//               one-digit multiplier, "A*BC: A*B0=X, A*C=Y, X+Y=C." for longer ones; a step with a
//               negative operand is written directly: "-5+3=-2.". With the defaults (1-3 digits,
//               2 operands) every response is shorter than 200 characters.
//   simple      prompt/reference/solution for echo, reverse, uppercase, successor, greeting and
//               identity (see SimpleTaskNames); the solution is the direct answer, no <think>.
//   preference  chosen = the gold response; rejected = a wrong answer (same format), a bare wrong
//               answer without reasoning, or an unhelpful refusal.
#ifndef R1_PIPELINE_SYNTHETIC_H_
#define R1_PIPELINE_SYNTHETIC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/random.h"
#include "pipeline/datasets.h"

namespace r1 {

// The seed of example `index` in a run seeded with `seed` (a splitmix64 mix of both).
uint64_t ExampleSeed(uint64_t seed, uint64_t index);

// The R1 response format: "<think>" + thinking + "</think><answer>" + answer + "</answer>".
std::string R1Response(const std::string& thinking, const std::string& answer);

struct ArithmeticOptions {
  int32_t min_digits = 1;    // digits of each operand, drawn uniformly in [min_digits, max_digits]
  int32_t max_digits = 3;    // at most 9
  int32_t min_operands = 2;  // operands per problem, drawn uniformly in [min, max]; 2..8
  int32_t max_operands = 2;
  std::string operators = "+-*";  // non-empty subset of "+-*", one drawn per operation
  // false: redraw the problem until every intermediate result and the answer are >= 0.
  bool allow_negative = true;
  // Share (0..100) of solutions that state each result without the digit-by-digit working
  // ("<think>87+50=137.</think>"), like a terse worked answer on the web. A model that has seen
  // both styles samples both, and RL can find that working it out pays. Drawn per example from
  // its own stream: the problems are the same whatever this is.
  int32_t terse_percent = 0;
};

// InvalidArgument naming the field and value when options are out of range (digits outside
// 1..9, operands outside 2..8, min > max, an operator outside "+-*", or a '*' problem that could
// exceed 18 digits).
absl::Status ValidateArithmeticOptions(const ArithmeticOptions& options);

// One arithmetic problem: operands[i] ops[i] operands[i+1] ...
struct ArithmeticProblem {
  std::vector<int64_t> operands;
  std::string ops;  // ops.size() == operands.size() - 1
  int64_t result = 0;
  std::string expression;      // "12+34*5"
  std::string thinking;        // the chain of thought (inside <think>)
  std::string terse_thinking;  // each operation's result without the working: "87+50=137."
  bool went_negative = false;  // some intermediate result or the answer is < 0
};

// Solves `operands` (each >= 0) joined by `ops` (each '+', '-' or '*'; * before + and -),
// filling every field. InvalidArgument on a size mismatch, a bad operator or operand, or 64-bit
// overflow.
absl::StatusOr<ArithmeticProblem> SolveArithmetic(const std::vector<int64_t>& operands,
                                                  const std::string& ops);

// The problem drawn for `seed` (options must be valid). Deterministic.
absl::StatusOr<ArithmeticProblem> MakeArithmeticProblem(const ArithmeticOptions& options,
                                                        uint64_t seed);

// `count` examples, ids "arithmetic-<seed>-<i>", task "arithmetic".
absl::StatusOr<std::vector<Example>> GenerateArithmetic(const ArithmeticOptions& options,
                                                        uint64_t seed, int64_t count);

struct SimpleTaskOptions {
  // Subset of SimpleTaskNames(); one drawn uniformly per example.
  std::vector<std::string> tasks = {"echo",      "reverse",  "uppercase",
                                    "successor", "greeting", "identity"};
  std::string assistant_name = "r1";  // used by the identity task
};

// "echo", "reverse", "uppercase", "successor", "greeting", "identity".
const std::vector<std::string>& SimpleTaskNames();

// `count` examples, ids "simple-<seed>-<i>", task = the task name. InvalidArgument listing the
// known names for an unknown task, or when tasks is empty.
absl::StatusOr<std::vector<Example>> GenerateSimpleTasks(const SimpleTaskOptions& options,
                                                         uint64_t seed, int64_t count);

struct PreferenceOptions {
  ArithmeticOptions arithmetic;
  SimpleTaskOptions simple;
  int32_t arithmetic_percent = 50;  // share of pairs built from arithmetic problems, 0..100
};

// `count` pairs, ids "preference-<seed>-<i>"; chosen != rejected always.
absl::StatusOr<std::vector<PreferencePair>> GeneratePreferencePairs(
    const PreferenceOptions& options, uint64_t seed, int64_t count);

}  // namespace r1

#endif  // R1_PIPELINE_SYNTHETIC_H_
