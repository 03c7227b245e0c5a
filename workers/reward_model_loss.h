// Bradley–Terry pairwise loss for reward-model training on (chosen, rejected) response pairs,
// with the accuracy and margin diagnostics. Pure function over tensors.
#ifndef R1_WORKERS_REWARD_MODEL_LOSS_H_
#define R1_WORKERS_REWARD_MODEL_LOSS_H_

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace r1 {

struct RewardModelLossResult {
  // [] scalar: mean over pairs of -log σ(chosen - rejected - margin). Differentiable in chosen
  // and rejected.
  at::Tensor loss;
  // Diagnostics (no gradient, margin not included):
  double accuracy = 0.0;       // share of pairs with chosen > rejected (ties count as wrong)
  double mean_margin = 0.0;    // mean of chosen - rejected
  double chosen_mean = 0.0;    // mean chosen score
  double rejected_mean = 0.0;  // mean rejected score
};

// chosen, rejected: [B] floating scores of the preferred and the other response (B ≥ 1).
// margin: undefined (no margin), a [] scalar, or [B] per pair (e.g. Llama 2's preference-strength
// margin): the chosen score must beat the rejected one by that much before the loss flattens.
// Errors (InvalidArgument, naming the argument): undefined or non-floating scores, shapes other
// than those above, B = 0, tensors on different devices. LibTorch failures become InternalError.
// Thread-safe (pure function).
absl::StatusOr<RewardModelLossResult> BradleyTerryLoss(const at::Tensor& chosen,
                                                       const at::Tensor& rejected,
                                                       const at::Tensor& margin = at::Tensor());

}  // namespace r1

#endif  // R1_WORKERS_REWARD_MODEL_LOSS_H_
