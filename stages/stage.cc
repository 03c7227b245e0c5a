// Stage dispatch and the helpers every loop shares (see stage.h).
#include "stages/stage.h"

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/random.h"
#include "base/status_macros.h"
#include "pipeline/templates.h"
#include "stages/grpo_stage.h"
#include "stages/sampling_stages.h"
#include "stages/stage_util.h"
#include "stages/train_stages.h"

namespace r1 {

absl::StatusOr<StageResult> RunStage(const StageContext& context) {
  if (context.config == nullptr || context.stage == nullptr || context.run_dir == nullptr ||
      context.worker == nullptr) {
    return absl::InvalidArgumentError("RunStage: incomplete context");
  }
  // The template used, next to the stage's outputs (rewritten identically on resume).
  R1_ASSIGN_OR_RETURN(PromptTemplate tmpl, StagePromptTemplate(context));
  const std::string stage_dir = context.run_dir->StageDir(context.stage->name);
  R1_RETURN_IF_ERROR(MakeDirs(stage_dir));
  R1_RETURN_IF_ERROR(
      WriteFileAtomic(JoinPath(stage_dir, "template.txt"), tmpl.RenderPrompt("{prompt}")));
  switch (context.stage->type) {
    case StageType::kPretrain:
    case StageType::kSft:
    case StageType::kRewardModel:
      return RunSupervisedStage(context);
    case StageType::kGrpo:
      return RunGrpoStage(context);
    case StageType::kRejectionSampling:
      return RunRejectionSamplingStage(context);
    case StageType::kEval:
      return RunEvalStage(context);
  }
  return absl::InvalidArgumentError(absl::StrCat("stage ", context.stage->name, ": unknown type"));
}

absl::StatusOr<PromptTemplate> StagePromptTemplate(const StageContext& context) {
  absl::StatusOr<PromptTemplate> tmpl =
      PromptTemplate::FromSpec(StageTemplate(*context.config, *context.stage));
  if (!tmpl.ok()) {
    return Annotate(tmpl.status(), absl::StrCat("stage ", context.stage->name, ": template: "));
  }
  return tmpl;
}

uint64_t RequestSeed(uint64_t stage_seed, int64_t step, int64_t index) {
  return SplitMix64::Mix(stage_seed ^ (SplitMix64::kGamma * static_cast<uint64_t>(step + 1)) ^
                         (0xC2B2AE3D27D4EB4Full * static_cast<uint64_t>(index + 1)));
}

}  // namespace r1
