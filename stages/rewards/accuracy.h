// The accuracy reward: 1 when the response's final answer equals the reference answer (math
// verification of math_answer.h), else 0.
#ifndef R1_STAGES_REWARDS_ACCURACY_H_
#define R1_STAGES_REWARDS_ACCURACY_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stages/rewards/math_answer.h"
#include "stages/rewards/reward.h"

namespace r1 {

struct AccuracyOptions {
  // Only an answer inside <answer>...</answer> or \boxed{...} counts (R1: "in a required place");
  // otherwise "#### N", "the answer is N", a final "A: N" line and the last number count too.
  bool require_tag = false;
};

struct AccuracyGrade {
  bool correct = false;
  ExtractedAnswer answer;        // from the response
  std::string reference_answer;  // ExtractReferenceAnswer(reference)
};

// Grades `response` against `reference` (a bare answer or a GSM8K-style solution "... #### 18").
// A countdown reference ("target=83;numbers=3,5,25,4", pipeline/countdown_verifier.h) grades the
// extracted answer as an expression over those numbers that must equal the target.
AccuracyGrade GradeMathAnswer(absl::string_view response, absl::string_view reference,
                              const AccuracyOptions& options);

// Registry factory. Params: {"require_tag": bool}. The reward's value is 1 or 0 and `extracted`
// the answer found in the response; Compute fails (InvalidArgument) on an empty reference.
absl::StatusOr<std::unique_ptr<RuleReward>> MakeAccuracyReward(const nlohmann::json& params);

}  // namespace r1

#endif  // R1_STAGES_REWARDS_ACCURACY_H_
