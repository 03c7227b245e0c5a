// The clipped policy-gradient loss with KL penalty; see policy_loss.h for the formulas.
#include "workers/policy_loss.h"

#include <torch/torch.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "workers/loss_util.h"

namespace r1 {
namespace {

using loss_internal::CatchTorchErrors;
using loss_internal::CheckBinaryMask;
using loss_internal::CheckDefined;
using loss_internal::CheckDevice;
using loss_internal::CheckFloating;
using loss_internal::CheckRange;
using loss_internal::CheckShape;
using loss_internal::ShapeString;

constexpr double kInf = std::numeric_limits<double>::infinity();
// verl clamps log ratios before exp() and the k3 value after it; we keep the same bounds.
constexpr double kLogRatioBound = 20.0;
constexpr double kK3Bound = 10.0;

absl::Status ValidateOptions(const PolicyLossOptions& options) {
  R1_RETURN_IF_ERROR(CheckRange(options.clip_low, "clip_low", 0.0, 1.0));
  if (options.clip_low >= 1.0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "clip_low must be below 1 (ratio floor 1 - clip_low > 0), got ", options.clip_low));
  }
  R1_RETURN_IF_ERROR(CheckRange(options.clip_high, "clip_high", 0.0, kInf));
  if (options.dual_clip.has_value() && !(*options.dual_clip > 1.0 && *options.dual_clip < kInf)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dual_clip must be a finite value > 1, got ", *options.dual_clip));
  }
  R1_RETURN_IF_ERROR(CheckRange(options.kl_coef, "kl_coef", 0.0, kInf));
  R1_RETURN_IF_ERROR(CheckRange(options.token_sum_norm, "token_sum_norm", 0.0, kInf));
  if (!(options.importance_cap > 0.0 && options.importance_cap < kInf)) {
    return absl::InvalidArgumentError(
        absl::StrCat("importance_cap must be a finite value > 0, got ", options.importance_cap));
  }
  return absl::OkStatus();
}

// Checks that `t` is a defined floating tensor of shape `shape` on `device`.
absl::Status CheckLogProbLike(const at::Tensor& t, absl::string_view name,
                              const std::vector<int64_t>& shape, const c10::Device& device) {
  R1_RETURN_IF_ERROR(CheckDefined(t, name));
  R1_RETURN_IF_ERROR(CheckShape(t, name, shape));
  R1_RETURN_IF_ERROR(CheckFloating(t, name));
  return CheckDevice(t, name, device, "logprobs");
}

absl::Status ValidateInputs(const PolicyLossInputs& in, const PolicyLossOptions& options) {
  R1_RETURN_IF_ERROR(CheckDefined(in.logprobs, "logprobs"));
  if (in.logprobs.dim() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("logprobs must be [B, T], got ", ShapeString(in.logprobs)));
  }
  R1_RETURN_IF_ERROR(CheckFloating(in.logprobs, "logprobs"));
  const std::vector<int64_t> bt = in.logprobs.sizes().vec();
  const c10::Device device = in.logprobs.device();
  R1_RETURN_IF_ERROR(CheckLogProbLike(in.old_logprobs, "old_logprobs", bt, device));

  R1_RETURN_IF_ERROR(CheckDefined(in.advantages, "advantages"));
  if (!(in.advantages.sizes().vec() == std::vector<int64_t>{bt[0]} ||
        in.advantages.sizes().vec() == bt)) {
    return absl::InvalidArgumentError(absl::StrCat("advantages must have shape [", bt[0], "] or [",
                                                   bt[0], ", ", bt[1], "], got ",
                                                   ShapeString(in.advantages)));
  }
  R1_RETURN_IF_ERROR(CheckFloating(in.advantages, "advantages"));
  R1_RETURN_IF_ERROR(CheckDevice(in.advantages, "advantages", device, "logprobs"));

  R1_RETURN_IF_ERROR(CheckDefined(in.response_mask, "response_mask"));
  R1_RETURN_IF_ERROR(CheckShape(in.response_mask, "response_mask", bt));
  R1_RETURN_IF_ERROR(CheckDevice(in.response_mask, "response_mask", device, "logprobs"));
  R1_RETURN_IF_ERROR(CheckBinaryMask(in.response_mask, "response_mask"));

  if (in.ref_logprobs.defined()) {
    R1_RETURN_IF_ERROR(CheckLogProbLike(in.ref_logprobs, "ref_logprobs", bt, device));
  } else if (options.kl_coef > 0.0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ref_logprobs is required when kl_coef > 0 (kl_coef = ", options.kl_coef, ")"));
  }
  if (in.behaviour_logprobs.defined()) {
    R1_RETURN_IF_ERROR(CheckLogProbLike(in.behaviour_logprobs, "behaviour_logprobs", bt, device));
  }
  if (in.logits.defined()) {
    if (in.logits.dim() != 3 || in.logits.size(0) != bt[0] || in.logits.size(1) != bt[1] ||
        in.logits.size(2) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("logits must have shape [", bt[0], ", ", bt[1],
                                                     ", V] with V > 0, got ",
                                                     ShapeString(in.logits)));
    }
    R1_RETURN_IF_ERROR(CheckFloating(in.logits, "logits"));
    R1_RETURN_IF_ERROR(CheckDevice(in.logits, "logits", device, "logprobs"));
  }
  return absl::OkStatus();
}

// Mean of `values` over the tokens where `mask` (bool) is true; `values` may carry a graph.
at::Tensor MaskedMean(const at::Tensor& values, const at::Tensor& mask) {
  return values.masked_fill(mask.logical_not(), 0).sum() / mask.sum().to(values.scalar_type());
}

// The per-token estimate from `log_ratio` = logp - ref_logp.
at::Tensor KlFromLogRatio(const at::Tensor& log_ratio, KlEstimator estimator) {
  switch (estimator) {
    case KlEstimator::kK1:
      return log_ratio;
    case KlEstimator::kK2:
      return 0.5 * log_ratio.square();
    case KlEstimator::kK3: {
      const at::Tensor d = (-log_ratio).clamp(-kLogRatioBound, kLogRatioBound);  // ref - logp
      return (d.exp() - d - 1).clamp(-kK3Bound, kK3Bound);
    }
  }
  return log_ratio;  // unreachable: every enumerator is handled above
}

}  // namespace

absl::StatusOr<at::Tensor> AggregateTokenLoss(const at::Tensor& token_values,
                                              const at::Tensor& mask, LossAggregation mode,
                                              double token_sum_norm) {
  R1_RETURN_IF_ERROR(CheckDefined(token_values, "token_values"));
  if (token_values.dim() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("token_values must be [B, T], got ", ShapeString(token_values)));
  }
  R1_RETURN_IF_ERROR(CheckFloating(token_values, "token_values"));
  R1_RETURN_IF_ERROR(CheckShape(mask, "mask", token_values.sizes().vec()));
  if (mode == LossAggregation::kSeqMeanTokenSumNorm && !(token_sum_norm > 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token_sum_norm must be > 0 for seq-mean-token-sum-norm, got ", token_sum_norm));
  }
  return CatchTorchErrors("AggregateTokenLoss", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor keep = mask.to(at::kBool);
    const at::Tensor per_seq_tokens = keep.sum(1);  // [B] int64
    const int64_t total_tokens = per_seq_tokens.sum().item<int64_t>();
    if (total_tokens == 0) {
      return absl::InvalidArgumentError("mask selects no token: nothing to aggregate");
    }
    const at::Tensor masked = token_values.masked_fill(keep.logical_not(), 0);
    const at::Tensor seq_sums = masked.sum(1);  // [B]
    const at::Tensor has_tokens = per_seq_tokens.gt(0);
    const auto dtype = token_values.scalar_type();
    const at::Tensor num_seqs = has_tokens.sum().to(dtype);
    switch (mode) {
      case LossAggregation::kTokenMean:
        return seq_sums.sum() / static_cast<double>(total_tokens);
      case LossAggregation::kSeqMeanTokenMean: {
        const at::Tensor seq_means = seq_sums / per_seq_tokens.clamp_min(1).to(dtype);
        return seq_means.sum() / num_seqs;  // rows without tokens have seq_sums 0
      }
      case LossAggregation::kSeqMeanTokenSumNorm:
        return (seq_sums / token_sum_norm).sum() / num_seqs;
    }
    return absl::InternalError("unknown LossAggregation");
  });
}

absl::StatusOr<at::Tensor> KlPenalty(const at::Tensor& logprobs, const at::Tensor& ref_logprobs,
                                     KlEstimator estimator) {
  R1_RETURN_IF_ERROR(CheckDefined(logprobs, "logprobs"));
  R1_RETURN_IF_ERROR(CheckFloating(logprobs, "logprobs"));
  R1_RETURN_IF_ERROR(CheckDefined(ref_logprobs, "ref_logprobs"));
  R1_RETURN_IF_ERROR(CheckShape(ref_logprobs, "ref_logprobs", logprobs.sizes().vec()));
  R1_RETURN_IF_ERROR(CheckFloating(ref_logprobs, "ref_logprobs"));
  return CatchTorchErrors("KlPenalty", [&]() -> absl::StatusOr<at::Tensor> {
    return KlFromLogRatio(logprobs - ref_logprobs.to(logprobs.scalar_type()), estimator);
  });
}

absl::StatusOr<at::Tensor> TokenEntropy(const at::Tensor& logits) {
  R1_RETURN_IF_ERROR(CheckDefined(logits, "logits"));
  R1_RETURN_IF_ERROR(CheckFloating(logits, "logits"));
  if (logits.dim() == 0 || logits.size(-1) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits must be [..., V] with V > 0, got ", ShapeString(logits)));
  }
  return CatchTorchErrors("TokenEntropy", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor z = logits.scalar_type() == at::kDouble ? logits : logits.to(at::kFloat);
    const at::Tensor log_p = torch::log_softmax(z, -1);
    return -(log_p.exp() * log_p).sum(-1);
  });
}

absl::StatusOr<PolicyLossResult> ComputePolicyLoss(const PolicyLossInputs& in,
                                                   const PolicyLossOptions& options) {
  R1_RETURN_IF_ERROR(ValidateOptions(options));
  R1_RETURN_IF_ERROR(ValidateInputs(in, options));
  return CatchTorchErrors("ComputePolicyLoss", [&]() -> absl::StatusOr<PolicyLossResult> {
    // Half-precision log-probs are computed in f32; the gradient flows back through the cast.
    const auto dtype = in.logprobs.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const at::Tensor logprobs = in.logprobs.to(dtype);
    const int64_t t = in.logprobs.size(1);
    const at::Tensor keep = in.response_mask.to(at::kBool);
    const at::Tensor pad = keep.logical_not();
    PolicyLossResult result;
    result.num_tokens = keep.sum().item<int64_t>();
    if (result.num_tokens == 0) {
      return absl::InvalidArgumentError("response_mask has no response token (all zeros)");
    }
    const double token_sum_norm =
        options.token_sum_norm > 0.0 ? options.token_sum_norm : static_cast<double>(t);

    // Padding positions are zeroed before any exp() so that garbage there (even inf/NaN) can
    // reach neither the loss nor the gradient.
    at::Tensor advantages = in.advantages.to(dtype);
    if (advantages.dim() == 1) advantages = advantages.unsqueeze(1).expand_as(logprobs);
    advantages = advantages.masked_fill(pad, 0);
    const at::Tensor old_logprobs = in.old_logprobs.detach().to(dtype);
    const at::Tensor log_ratio =
        (logprobs - old_logprobs).masked_fill(pad, 0).clamp(-kLogRatioBound, kLogRatioBound);
    const at::Tensor ratio = log_ratio.exp();

    const at::Tensor pg_unclipped = -advantages * ratio;
    const at::Tensor pg_clipped =
        -advantages * ratio.clamp(1.0 - options.clip_low, 1.0 + options.clip_high);
    const at::Tensor pg_ppo = torch::max(pg_unclipped, pg_clipped);
    at::Tensor pg = pg_ppo;
    at::Tensor dual_clipped;  // [B, T] bool, where the dual clip capped the loss
    if (options.dual_clip.has_value()) {
      const at::Tensor cap = -advantages * *options.dual_clip;
      const at::Tensor negative = advantages.lt(0);
      dual_clipped = negative.logical_and(pg_ppo.gt(cap));
      pg = torch::where(negative, torch::min(pg_ppo, cap), pg_ppo);
    }
    at::Tensor importance;  // [B, T] untruncated π_old / π_behaviour, 1 at padding
    if (in.behaviour_logprobs.defined()) {
      const at::Tensor behaviour = in.behaviour_logprobs.detach().to(dtype);
      importance = (old_logprobs - behaviour)
                       .masked_fill(pad, 0)
                       .clamp(-kLogRatioBound, kLogRatioBound)
                       .exp();
      pg = pg * importance.clamp_max(options.importance_cap);
    }

    at::Tensor kl_tokens;  // [B, T], defined when ref_logprobs is given
    if (in.ref_logprobs.defined()) {
      const at::Tensor ref_logprobs = in.ref_logprobs.detach().to(dtype);
      kl_tokens =
          KlFromLogRatio((logprobs - ref_logprobs).masked_fill(pad, 0), options.kl_estimator);
    }
    at::Tensor token_loss = pg;
    if (options.kl_coef > 0.0) token_loss = pg + options.kl_coef * kl_tokens;
    R1_ASSIGN_OR_RETURN(result.loss,
                        AggregateTokenLoss(token_loss, keep, options.aggregation, token_sum_norm));

    torch::NoGradGuard no_grad;
    R1_ASSIGN_OR_RETURN(const at::Tensor pg_loss,
                        AggregateTokenLoss(pg.detach(), keep, options.aggregation, token_sum_norm));
    result.pg_loss = pg_loss.item<double>();
    if (kl_tokens.defined()) result.kl = MaskedMean(kl_tokens.detach(), keep).item<double>();
    const at::Tensor clip_active = pg_clipped.gt(pg_unclipped).logical_and(keep);
    result.clip_fraction = clip_active.sum().item<double>() / result.num_tokens;
    if (dual_clipped.defined()) {
      result.dual_clip_fraction =
          dual_clipped.logical_and(keep).sum().item<double>() / result.num_tokens;
    }
    if (importance.defined()) {
      result.importance_weight_mean = MaskedMean(importance, keep).item<double>();
      result.importance_truncated_fraction =
          importance.gt(options.importance_cap).logical_and(keep).sum().item<double>() /
          result.num_tokens;
    }
    const at::Tensor lr = log_ratio.detach();
    result.approx_kl = MaskedMean(lr.exp() - 1 - lr, keep).item<double>();
    if (in.logits.defined()) {
      R1_ASSIGN_OR_RETURN(const at::Tensor entropy, TokenEntropy(in.logits.detach()));
      result.entropy = MaskedMean(entropy, keep).item<double>();
    }
    return result;
  });
}

}  // namespace r1
