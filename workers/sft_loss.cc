// Response-only cross-entropy for SFT; see sft_loss.h.
#include "workers/sft_loss.h"

#include <torch/torch.h>

#include <vector>

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
using loss_internal::CheckShape;
using loss_internal::ShapeString;

absl::Status CheckIntegral(const at::Tensor& t, absl::string_view name) {
  if (!t.is_floating_point() && !t.is_complex() && t.scalar_type() != at::kBool) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(name, " must be an integer tensor, got ",
                                                 std::string(c10::toString(t.scalar_type()))));
}

}  // namespace

absl::StatusOr<SftLossResult> SftCrossEntropyLoss(const at::Tensor& logits,
                                                  const at::Tensor& labels,
                                                  const at::Tensor& loss_mask,
                                                  const SftLossOptions& options) {
  R1_RETURN_IF_ERROR(CheckDefined(logits, "logits"));
  if (logits.dim() != 3 || logits.size(2) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits must be [B, T, V] with V > 0, got ", ShapeString(logits)));
  }
  R1_RETURN_IF_ERROR(CheckFloating(logits, "logits"));
  const int64_t b = logits.size(0), t = logits.size(1), v = logits.size(2);
  R1_RETURN_IF_ERROR(CheckDefined(labels, "labels"));
  R1_RETURN_IF_ERROR(CheckShape(labels, "labels", {b, t}));
  R1_RETURN_IF_ERROR(CheckIntegral(labels, "labels"));
  R1_RETURN_IF_ERROR(CheckDevice(labels, "labels", logits.device(), "logits"));
  if (loss_mask.defined()) {
    R1_RETURN_IF_ERROR(CheckShape(loss_mask, "loss_mask", {b, t}));
    R1_RETURN_IF_ERROR(CheckDevice(loss_mask, "loss_mask", logits.device(), "logits"));
    R1_RETURN_IF_ERROR(CheckBinaryMask(loss_mask, "loss_mask"));
  }
  return CatchTorchErrors("SftCrossEntropyLoss", [&]() -> absl::StatusOr<SftLossResult> {
    at::Tensor target = labels.to(at::kLong);
    if (loss_mask.defined()) {
      target = target.masked_fill(loss_mask.to(at::kBool).logical_not(), options.ignore_index);
    }
    const at::Tensor counted = target.ne(options.ignore_index);  // [B, T] bool
    const at::Tensor out_of_range = counted.logical_and(target.lt(0).logical_or(target.ge(v)));
    if (out_of_range.any().item<bool>()) {
      const at::Tensor where = out_of_range.nonzero()[0];  // first offending [b, t]
      const int64_t row = where[0].item<int64_t>(), col = where[1].item<int64_t>();
      return absl::InvalidArgumentError(
          absl::StrCat("labels[", row, ", ", col, "] = ", target[row][col].item<int64_t>(),
                       " is outside the vocabulary [0, ", v, ") and is not ignore_index (",
                       options.ignore_index, ")"));
    }
    SftLossResult result;
    result.num_tokens = counted.sum().item<int64_t>();
    if (result.num_tokens == 0 && options.reduction == SftReduction::kMean) {
      return absl::InvalidArgumentError(
          "no counted token (every label is ignore_index or masked): the mean is undefined");
    }
    const at::Tensor z = logits.scalar_type() == at::kDouble ? logits : logits.to(at::kFloat);
    const at::Tensor log_probs = torch::log_softmax(z, -1);  // [B, T, V]
    const at::Tensor safe_target = target.masked_fill(counted.logical_not(), 0);
    const at::Tensor nll = -log_probs.gather(-1, safe_target.unsqueeze(-1)).squeeze(-1);  // [B, T]
    const at::Tensor total = nll.masked_fill(counted.logical_not(), 0).sum();
    result.loss = options.reduction == SftReduction::kMean
                      ? total / static_cast<double>(result.num_tokens)
                      : total;

    torch::NoGradGuard no_grad;
    if (result.num_tokens > 0) {
      result.mean_nll = total.item<double>() / result.num_tokens;
      const at::Tensor hits = z.argmax(-1).eq(target).logical_and(counted);
      result.accuracy = hits.sum().item<double>() / result.num_tokens;
    }
    return result;
  });
}

absl::StatusOr<at::Tensor> ShiftedLabels(const at::Tensor& input_ids, const at::Tensor& loss_mask,
                                         const at::Tensor& segment_ids, int64_t ignore_index) {
  R1_RETURN_IF_ERROR(CheckDefined(input_ids, "input_ids"));
  if (input_ids.dim() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("input_ids must be [B, T], got ", ShapeString(input_ids)));
  }
  R1_RETURN_IF_ERROR(CheckIntegral(input_ids, "input_ids"));
  const std::vector<int64_t> bt = input_ids.sizes().vec();
  R1_RETURN_IF_ERROR(CheckDefined(loss_mask, "loss_mask"));
  R1_RETURN_IF_ERROR(CheckShape(loss_mask, "loss_mask", bt));
  R1_RETURN_IF_ERROR(CheckBinaryMask(loss_mask, "loss_mask"));
  if (segment_ids.defined()) {
    R1_RETURN_IF_ERROR(CheckShape(segment_ids, "segment_ids", bt));
    R1_RETURN_IF_ERROR(CheckIntegral(segment_ids, "segment_ids"));
  }
  return CatchTorchErrors("ShiftedLabels", [&]() -> absl::StatusOr<at::Tensor> {
    at::Tensor labels = torch::full(bt, ignore_index, input_ids.options().dtype(at::kLong));
    if (bt[1] < 2) return labels;
    const int64_t t = bt[1];
    const at::Tensor next_ids = input_ids.narrow(1, 1, t - 1).to(at::kLong);
    at::Tensor keep = loss_mask.narrow(1, 1, t - 1).to(at::kBool);
    if (segment_ids.defined()) {
      keep = keep.logical_and(segment_ids.narrow(1, 1, t - 1).eq(segment_ids.narrow(1, 0, t - 1)));
    }
    labels.narrow(1, 0, t - 1).copy_(next_ids.masked_fill(keep.logical_not(), ignore_index));
    return labels;
  });
}

}  // namespace r1
