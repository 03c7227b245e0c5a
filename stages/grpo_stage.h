// The GRPO stage loop (R1-RECIPE.md): per step, sample G responses for each prompt, score them
// with rule rewards (here, in the scheduler) and reward models (on workers), turn rewards into
// group-relative advantages, compute old and reference log-probs, update the policy in
// mini-batches, sync weights, and checkpoint periodically. Reasoning RL and all-scenario RL are
// this loop with other prompts and reward mixes.
#ifndef R1_STAGES_GRPO_STAGE_H_
#define R1_STAGES_GRPO_STAGE_H_

#include "stages/stage.h"

namespace r1 {

// Runs a grpo stage (see RunStage for the contract). Metrics per step: reward mean and each
// part's mean, accuracy, format rate, response length (mean, max), kl, clip fraction, grad norm,
// learning rate, rollout and training tokens/s, and the step time split into generate / reward /
// logprobs / train / sync seconds.
absl::StatusOr<StageResult> RunGrpoStage(const StageContext& context);

}  // namespace r1

#endif  // R1_STAGES_GRPO_STAGE_H_
