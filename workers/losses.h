// The training losses of the workers in one include: GRPO/PPO policy loss with KL penalty
// (policy_loss.h), SFT response-only cross-entropy (sft_loss.h), Bradley–Terry reward-model loss
// (reward_model_loss.h). All are pure functions returning absl::StatusOr.
#ifndef R1_WORKERS_LOSSES_H_
#define R1_WORKERS_LOSSES_H_

#include "workers/policy_loss.h"
#include "workers/reward_model_loss.h"
#include "workers/sft_loss.h"

#endif  // R1_WORKERS_LOSSES_H_
