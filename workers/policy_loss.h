// The clipped policy-gradient loss of GRPO/PPO (with DAPO clip-higher, dual-clip, Dr.GRPO
// aggregation) and its KL penalty against a reference policy: pure functions over tensors.
//
// Shape legend: B = sequences in the batch, T = response positions (padded), V = vocabulary.
// Every [B, T] tensor is aligned: position t of row b is the same response token everywhere.
#ifndef R1_WORKERS_POLICY_LOSS_H_
#define R1_WORKERS_POLICY_LOSS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipeline/config_types.h"

namespace r1 {

// LossAggregation and KlEstimator (their meaning, config names and wire names): pipeline/
// config_types.h and worker_api/worker_client.h. kSeqMeanTokenSumNorm divides each sequence's
// token sum by PolicyLossOptions::token_sum_norm.

struct PolicyLossOptions {
  // ε_low: the ratio is clipped below at 1 - clip_low. In [0, 1).
  double clip_low = 0.2;
  // ε_high: the ratio is clipped above at 1 + clip_high (DAPO clip-higher uses e.g. 0.28). ≥ 0.
  double clip_high = 0.2;
  // Dual-clip c (> 1), e.g. 3: for negative advantages the token loss is at most -c·A, so a huge
  // ratio on a bad token cannot blow up the loss. Unset = no dual clip.
  std::optional<double> dual_clip;
  // β, the weight of the KL penalty against the reference policy. ≥ 0; with 0 no reference
  // log-probs are needed.
  double kl_coef = 0.0;
  KlEstimator kl_estimator = KlEstimator::kK3;
  LossAggregation aggregation = LossAggregation::kSeqMeanTokenMean;
  // The constant of kSeqMeanTokenSumNorm (e.g. the maximum response length of the run). 0 means T,
  // the padded response length of the batch. ≥ 0; ignored by the other modes.
  double token_sum_norm = 0.0;
  // C of truncated importance sampling (TIS), used when behaviour_logprobs are given: each token's
  // policy-gradient term is weighted by min(π_old / π_behaviour, C). > 0.
  double importance_cap = 2.0;
};

struct PolicyLossInputs {
  at::Tensor logprobs;       // [B, T] floating, log π_θ of each token; requires grad
  at::Tensor old_logprobs;   // [B, T] log π_old (the policy that sampled); no grad flows into it
  at::Tensor advantages;     // [B] (one per sequence, as in GRPO) or [B, T] (per token)
  at::Tensor response_mask;  // [B, T] bool or 0/1: 1 = response token that counts
  at::Tensor ref_logprobs;   // [B, T] log π_ref, or undefined (allowed only when kl_coef == 0)
  // [B, T] log π_behaviour, the policy that actually sampled when it is older than π_old
  // (asynchronous RL: the rollout engine ran weights a step behind), or undefined (on-policy).
  at::Tensor behaviour_logprobs;
  at::Tensor logits;  // [B, T, V] or undefined: when given, the entropy diagnostic is set
};

struct PolicyLossResult {
  // [] scalar, f64 for f64 logprobs and f32 otherwise (bf16/f16 inputs are computed in f32):
  // aggregate over tokens of -(clipped surrogate) + β·KL.
  // Differentiable with respect to logprobs (and nothing else).
  at::Tensor loss;
  // Diagnostics (no gradient):
  double pg_loss = 0.0;        // the policy-gradient part alone, aggregated like `loss`
  double kl = 0.0;             // mean KL estimate vs the reference over response tokens (0 if none)
  double clip_fraction = 0.0;  // share of response tokens whose ratio clip was active (the clipped
                               // term won: ρ > 1+ε_high with A > 0, or ρ < 1-ε_low with A < 0)
  double dual_clip_fraction = 0.0;  // share of response tokens capped by the dual clip (A < 0)
  double approx_kl = 0.0;  // KL(π_old || π_θ) by k3 over response tokens: mean(ρ - 1 - log ρ)
  std::optional<double> entropy;  // mean token entropy over response tokens, when logits given
  // With behaviour_logprobs: the mean of the untruncated weights π_old / π_behaviour over response
  // tokens, and the share of response tokens whose weight the cap truncated.
  double importance_weight_mean = 0.0;
  double importance_truncated_fraction = 0.0;
  int64_t num_tokens = 0;  // response tokens in the batch
};

// Computes the policy loss. Per token, with ρ = exp(logp - old_logp) (log ratio clamped to
// [-20, 20] before exp, as verl does, so a stale batch cannot overflow):
//   pg  = max(-A·ρ, -A·clip(ρ, 1 - clip_low, 1 + clip_high))
//   pg  = min(pg, -A·c)                      when dual_clip c is set and A < 0
//   pg  = pg · min(exp(old_logp - behaviour_logp), C)   with behaviour_logprobs (truncated
//                                            importance sampling, verl's TIS; no gradient
//                                            flows through the weight, the KL term is unweighted)
//   kl  = estimator(logp - ref_logp)         (k3: argument clamped to [-20, 20], result to
//                                             [-10, 10], as verl's low_var_kl)
//   loss token = pg + β·kl, then aggregated by options.aggregation.
// The entropy diagnostic, when `logits` is given, is the mean of TokenEntropy over response tokens.
// Errors (InvalidArgument, naming the argument): an undefined or wrongly shaped input, a
// non-floating log-prob, tensors on different devices, a mask with values other than 0/1, a mask
// with no response token, ref_logprobs missing while kl_coef > 0, an option out of range.
// LibTorch failures become InternalError. Thread-safe (pure function).
absl::StatusOr<PolicyLossResult> ComputePolicyLoss(const PolicyLossInputs& inputs,
                                                   const PolicyLossOptions& options);

// Aggregates per-token values by `mode` over the tokens where mask is 1 (see LossAggregation).
// token_values: [B, T] float; mask: [B, T] bool or 0/1 (not checked for 0/1 here); token_sum_norm
// > 0 is the constant of kSeqMeanTokenSumNorm. Returns a [] scalar, differentiable in
// token_values. InvalidArgument if the shapes differ or no token is selected.
absl::StatusOr<at::Tensor> AggregateTokenLoss(const at::Tensor& token_values,
                                              const at::Tensor& mask, LossAggregation mode,
                                              double token_sum_norm);

// Per-token KL estimate of KL(π_θ || π_ref) from logprobs and ref_logprobs [B, T] (same shape,
// floating). Returns [B, T], differentiable in both. InvalidArgument on a shape mismatch.
absl::StatusOr<at::Tensor> KlPenalty(const at::Tensor& logprobs, const at::Tensor& ref_logprobs,
                                     KlEstimator estimator);

// Entropy of the softmax distribution at every position: H = logsumexp(z) - Σ softmax(z)·z.
// logits: [..., V] floating (bf16/f16 are computed in f32); returns [...] in f32 or f64 (the wider
// of f32 and the input), differentiable. InvalidArgument for a non-floating or 0-d input.
absl::StatusOr<at::Tensor> TokenEntropy(const at::Tensor& logits);

}  // namespace r1

#endif  // R1_WORKERS_POLICY_LOSS_H_
