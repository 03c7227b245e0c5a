// The Countdown task's rules in one place, for the data generator (synthetic_countdown.h) and the
// accuracy reward (stages/rewards/accuracy.h): the reference format "target=83;numbers=3,5,25,4"
// and the exact verifier of a proposed expression ("(25-5)*4+3"). Pure functions, thread-safe.
#ifndef R1_PIPELINE_COUNTDOWN_VERIFIER_H_
#define R1_PIPELINE_COUNTDOWN_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace r1 {

// True when `reference` is in the countdown format (starts with "target=" after whitespace); such a
// reference is graded with VerifyCountdownAnswer, not as a number.
bool IsCountdownReference(absl::string_view reference);

// "target=83;numbers=3,5,25,4" and back. Parse: InvalidArgument quoting the text if malformed.
std::string FormatCountdownReference(absl::Span<const int64_t> numbers, int64_t target);
struct CountdownReference {
  std::vector<int64_t> numbers;
  int64_t target = 0;
};
absl::StatusOr<CountdownReference> ParseCountdownReference(absl::string_view reference);

struct CountdownVerdict {
  bool correct = false;
  std::string reason;  // why not correct ("uses 7, which is not among the numbers"); "" if correct
};

// Checks `expression`: integers, + - * /, parentheses and spaces (an optional trailing "= N" is
// allowed and must name the target). Each literal must come from `numbers`, each at most as many
// times as it appears there (all of them when `require_all_numbers`). Evaluation is exact over
// rationals: division by zero is rejected, 7/2*2 is 7. Never crashes on any input (depth and
// magnitude are bounded; too large values are rejected).
CountdownVerdict VerifyCountdown(absl::string_view expression, absl::Span<const int64_t> numbers,
                                 int64_t target, bool require_all_numbers = false);

// VerifyCountdown against a FormatCountdownReference string; a malformed reference is a verdict
// with correct = false and the parse error as reason.
CountdownVerdict VerifyCountdownAnswer(absl::string_view expression, absl::string_view reference);

}  // namespace r1

#endif  // R1_PIPELINE_COUNTDOWN_VERIFIER_H_
