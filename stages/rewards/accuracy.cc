// The accuracy reward over math_answer.h.
#include "stages/rewards/accuracy.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "pipeline/countdown_verifier.h"
#include "stages/rewards/reward_params.h"

namespace r1 {
namespace {

class AccuracyReward : public RuleReward {
 public:
  explicit AccuracyReward(AccuracyOptions options) : options_(options) {}

  absl::StatusOr<RewardValue> Compute(const RewardInput& input) const override {
    if (absl::StripAsciiWhitespace(input.reference).empty()) {
      return absl::InvalidArgumentError("the input has no reference answer");
    }
    AccuracyGrade grade = GradeMathAnswer(input.response, input.reference, options_);
    return RewardValue{grade.correct ? 1.0 : 0.0, std::move(grade.answer.text)};
  }

 private:
  AccuracyOptions options_;
};

}  // namespace

AccuracyGrade GradeMathAnswer(absl::string_view response, absl::string_view reference,
                              const AccuracyOptions& options) {
  AccuracyGrade grade;
  grade.answer = ExtractAnswer(response);
  grade.reference_answer = ExtractReferenceAnswer(reference);
  if (options.require_tag && grade.answer.source != AnswerSource::kAnswerTag &&
      grade.answer.source != AnswerSource::kBoxed) {
    return grade;
  }
  if (grade.answer.source == AnswerSource::kNone) return grade;
  if (IsCountdownReference(reference)) {
    // A countdown reference ("target=83;numbers=3,5,25,4"): the answer is an expression.
    grade.correct = VerifyCountdownAnswer(grade.answer.text, reference).correct;
    return grade;
  }
  grade.correct = AnswersEquivalent(grade.answer.text, grade.reference_answer);
  return grade;
}

absl::StatusOr<std::unique_ptr<RuleReward>> MakeAccuracyReward(const nlohmann::json& params) {
  R1_ASSIGN_OR_RETURN(RewardParams p, RewardParams::Parse("accuracy", params, {"require_tag"}));
  AccuracyOptions options;
  R1_ASSIGN_OR_RETURN(options.require_tag, p.Bool("require_tag", false));
  return std::make_unique<AccuracyReward>(options);
}

}  // namespace r1
