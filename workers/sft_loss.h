// Supervised fine-tuning loss: token cross-entropy on response tokens only (prompt and padding
// masked), for padded and packed batches. Pure functions over tensors.
//
// Shape legend: B = rows in the batch, T = positions per row, V = vocabulary.
#ifndef R1_WORKERS_SFT_LOSS_H_
#define R1_WORKERS_SFT_LOSS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace r1 {

// Label value that takes no part in the loss (the Hugging Face / PyTorch convention).
inline constexpr int64_t kIgnoreLabel = -100;

enum class SftReduction {
  kMean,  // sum of token losses / number of counted tokens in the whole batch (token mean)
  kSum,   // sum of token losses (for callers that normalise across micro-batches themselves)
};

struct SftLossOptions {
  SftReduction reduction = SftReduction::kMean;
  int64_t ignore_index = kIgnoreLabel;  // labels equal to this are not counted
};

struct SftLossResult {
  // [] scalar (f32, or f64 for f64 logits), differentiable in logits.
  at::Tensor loss;
  // Diagnostics (no gradient):
  int64_t num_tokens = 0;  // counted tokens (label != ignore_index and loss_mask 1)
  double mean_nll = 0.0;   // loss per counted token (equals `loss` for kMean); 0 if none counted
  double accuracy = 0.0;   // share of counted tokens whose argmax logit is the label
};

// Cross-entropy of `labels` under `logits`, over the counted tokens only.
// logits: [B, T, V] floating (bf16/f16 are computed in f32). logits[b, t] scores labels[b, t]:
//   labels are already shifted (labels[b, t] = the token at t + 1); see ShiftedLabels.
// labels: [B, T] integer; ignore_index marks prompt/padding/boundary positions.
// loss_mask: undefined, or [B, T] bool or 0/1; 0 also excludes a position (either way works).
// Packed rows (several examples one after another) need nothing special: the mean is over the
// counted tokens of the whole batch, so a packed batch and a padded batch holding the same examples
// give the same loss (given the same logits per example).
// Errors (InvalidArgument, naming the argument): wrong shapes or dtypes, a mask that is not 0/1, a
// counted label outside [0, V) (with its position), kMean with no counted token (kSum gives 0).
// LibTorch failures become InternalError. Thread-safe (pure function).
absl::StatusOr<SftLossResult> SftCrossEntropyLoss(const at::Tensor& logits,
                                                  const at::Tensor& labels,
                                                  const at::Tensor& loss_mask,
                                                  const SftLossOptions& options);

// Next-token labels for a batch of token rows: labels[b, t] = input_ids[b, t + 1] when
// loss_mask[b, t + 1] is 1 and (for packed rows) segment_ids[b, t + 1] == segment_ids[b, t];
// otherwise ignore_index. The last position is always ignore_index.
// input_ids: [B, T] integer. loss_mask: [B, T] bool or 0/1 (1 = response token to learn).
// segment_ids: undefined, or [B, T] integer naming the example each position belongs to in a
// packed row, so that no example learns to predict the first token of the next one.
// Returns [B, T] int64. InvalidArgument on a wrong shape, dtype or non-0/1 mask.
absl::StatusOr<at::Tensor> ShiftedLabels(const at::Tensor& input_ids, const at::Tensor& loss_mask,
                                         const at::Tensor& segment_ids,
                                         int64_t ignore_index = kIgnoreLabel);

}  // namespace r1

#endif  // R1_WORKERS_SFT_LOSS_H_
