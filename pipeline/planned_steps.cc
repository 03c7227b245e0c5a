#include "pipeline/planned_steps.h"

namespace r1 {

int64_t PlannedSteps(const StageConfig& stage) {
  switch (stage.type) {
    case StageType::kGrpo:
      return stage.grpo.steps;
    case StageType::kPretrain:
    case StageType::kSft:
    case StageType::kRewardModel:
      return stage.train.steps;
    default:
      return 0;
  }
}

}  // namespace r1
