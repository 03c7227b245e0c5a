// Synthetic code tasks for tiny models: short Python programs that read a small input from stdin
// and print one line, each with a worked solution and stdin/stdout tests the code reward
// (stages/rewards/code.h) runs. Solutions have a fixed, short shape per template, so a byte-level
// model of a few hundred thousand parameters can learn to write them.
//
// Templates (CodeTaskNames; the numbers K, C and the operator vary per example):
//   arith    "Read two integers a and b on one line and print a*b."     ops + - *
//   linear   "Read an integer n and print n*K+C."                        K in 2..9, C in 0..9
//   reverse  "Read a word and print it reversed."
//   upper    "Read a word and print it in upper case."
//   reduce   "Read integers on one line and print their maximum."       max, min or sum
//   repeat   "Read a word and print it K times, separated by spaces."    K in 2..4
//
// Example fields (task "code"):
//   prompt    the template's sentence
//   reference {"tests": [{"input": "3 4\n", "output": "12\n"}, ...]}, 2..4 cases (ParseCodeTests
//             in stages/rewards/code.h reads it; the `code` dataset format writes the same)
//   solution  "<think>Read a and b, multiply them.</think><answer>```python\n"
//             "a, b = map(int, input().split())\nprint(a * b)\n```</answer>"
// Deterministic as the other generators (pipeline/synthetic.h): example i is a pure function of
// (options, seed, i); the expected outputs are computed here, not by running Python.
#ifndef R1_PIPELINE_SYNTHETIC_CODE_H_
#define R1_PIPELINE_SYNTHETIC_CODE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/datasets.h"

namespace r1 {

struct CodeTaskOptions {
  std::vector<std::string> tasks = {"arith", "linear", "reverse", "upper", "reduce", "repeat"};
  int32_t max_value = 20;  // test integers are drawn in [0, max_value] (1..1000000)
  int32_t min_tests = 2;   // test cases per example, drawn in [min_tests, max_tests]; 1..8
  int32_t max_tests = 4;
};

// "arith", "linear", "reverse", "upper", "reduce", "repeat".
const std::vector<std::string>& CodeTaskNames();

// InvalidArgument naming the option: an unknown or no task, a range out of bounds.
absl::Status ValidateCodeTaskOptions(const CodeTaskOptions& options);

// `count` examples, ids "code-<seed>-<i>", task "code"; example i uses ExampleSeed(seed, i).
absl::StatusOr<std::vector<Example>> GenerateCodeTasks(const CodeTaskOptions& options,
                                                       uint64_t seed, int64_t count);

}  // namespace r1

#endif  // R1_PIPELINE_SYNTHETIC_CODE_H_
