// Countdown: reach a target with given numbers using + - * / and parentheses, each number at most
// once. The generator guarantees solvability by building the target from a random expression over
// the numbers, and checks it with the verifier (pipeline/countdown_verifier.h), which also holds
// the reference format and grades model answers.
//
// Example fields (task "countdown"):
//   prompt    "Using the numbers 3 5 25 4, make 83. Use + - * / and each number at most once."
//   reference "target=83;numbers=3,5,25,4" (FormatCountdownReference in countdown_verifier.h, so a
//             reward function needs only the reference)
//   solution  "<think>25-5=20. 20*4=80. 80+3=83.</think><answer>(25-5)*4+3</answer>"
// Intermediate results of the stored solution are positive integers (classic Countdown rules);
// the verifier is more permissive: any exact rational evaluation that equals the target counts.
#ifndef R1_PIPELINE_SYNTHETIC_COUNTDOWN_H_
#define R1_PIPELINE_SYNTHETIC_COUNTDOWN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/datasets.h"

namespace r1 {

struct CountdownOptions {
  int32_t min_numbers = 3;  // how many numbers are given, drawn in [min_numbers, max_numbers]
  int32_t max_numbers = 4;  // 2..8
  int32_t min_number = 1;   // each number drawn in [min_number, max_number], 1..10000
  int32_t max_number = 25;
  int32_t min_target = 10;  // the target lies in [min_target, max_target]
  int32_t max_target = 200;
  // true: the target is built from all the numbers; false: from a random subset of >= 2.
  bool use_all_numbers = false;
  std::string operators = "+-*/";  // non-empty subset of "+-*/"
  // 0..8: the thinking first shows a uniform 0..max_wrong_tries attempts that miss the target
  // ("8+9=17, not 21. "), as a search would, then the solution's steps. 0: the steps only.
  int32_t max_wrong_tries = 0;
};

// InvalidArgument naming the field and value when an option is out of range.
absl::Status ValidateCountdownOptions(const CountdownOptions& options);

struct CountdownProblem {
  std::vector<int64_t> numbers;  // in the order shown in the prompt
  int64_t target = 0;
  std::string solution;  // an expression over the numbers that equals target: "(25-5)*4+3"
  std::string thinking;  // the construction steps: "25-5=20. 20*4=80. 80+3=83.", after any
                         // wrong tries (CountdownOptions::max_wrong_tries)
};

// The problem drawn for `seed` (a pure function of options and seed). InvalidArgument for bad
// options, or when no target in range was found in many draws (the error says which range).
absl::StatusOr<CountdownProblem> MakeCountdownProblem(const CountdownOptions& options,
                                                      uint64_t seed);

// `count` examples, ids "countdown-<seed>-<i>", task "countdown"; example i uses
// ExampleSeed(seed, i).
absl::StatusOr<std::vector<Example>> GenerateCountdown(const CountdownOptions& options,
                                                       uint64_t seed, int64_t count);

// The Example for a problem (prompt, reference, solution as described at the top).
Example CountdownExample(const CountdownProblem& problem, const std::string& id);

}  // namespace r1

#endif  // R1_PIPELINE_SYNTHETIC_COUNTDOWN_H_
