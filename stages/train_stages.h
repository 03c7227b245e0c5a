// The supervised stage loops (pretrain, sft, reward_model): one optimizer step per batch of the
// shuffled input data, epochs or a step count, periodic checkpoints, the model as output.
#ifndef R1_STAGES_TRAIN_STAGES_H_
#define R1_STAGES_TRAIN_STAGES_H_

#include "stages/stage.h"

namespace r1 {

// Runs a pretrain, sft or reward_model stage (see RunStage for the contract).
absl::StatusOr<StageResult> RunSupervisedStage(const StageContext& context);

}  // namespace r1

#endif  // R1_STAGES_TRAIN_STAGES_H_
