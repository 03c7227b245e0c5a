// Bradley–Terry reward-model loss; see reward_model_loss.h.
#include "workers/reward_model_loss.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "workers/loss_util.h"

namespace r1 {

using loss_internal::CatchTorchErrors;
using loss_internal::CheckDefined;
using loss_internal::CheckDevice;
using loss_internal::CheckFloating;
using loss_internal::CheckShape;
using loss_internal::ShapeString;

absl::StatusOr<RewardModelLossResult> BradleyTerryLoss(const at::Tensor& chosen,
                                                       const at::Tensor& rejected,
                                                       const at::Tensor& margin) {
  R1_RETURN_IF_ERROR(CheckDefined(chosen, "chosen"));
  if (chosen.dim() != 1 || chosen.size(0) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("chosen must be [B] with B >= 1, got ", ShapeString(chosen)));
  }
  R1_RETURN_IF_ERROR(CheckFloating(chosen, "chosen"));
  R1_RETURN_IF_ERROR(CheckDefined(rejected, "rejected"));
  R1_RETURN_IF_ERROR(CheckShape(rejected, "rejected", chosen.sizes().vec()));
  R1_RETURN_IF_ERROR(CheckFloating(rejected, "rejected"));
  R1_RETURN_IF_ERROR(CheckDevice(rejected, "rejected", chosen.device(), "chosen"));
  if (margin.defined()) {
    if (!(margin.dim() == 0 || margin.sizes() == chosen.sizes())) {
      return absl::InvalidArgumentError(absl::StrCat("margin must be a scalar or have shape [",
                                                     chosen.size(0), "], got ",
                                                     ShapeString(margin)));
    }
    R1_RETURN_IF_ERROR(CheckFloating(margin, "margin"));
    R1_RETURN_IF_ERROR(CheckDevice(margin, "margin", chosen.device(), "chosen"));
  }
  return CatchTorchErrors("BradleyTerryLoss", [&]() -> absl::StatusOr<RewardModelLossResult> {
    const auto dtype = at::promote_types(chosen.scalar_type(), rejected.scalar_type());
    const at::Tensor diff = chosen.to(dtype) - rejected.to(dtype);  // [B]
    at::Tensor logit = diff;
    if (margin.defined()) logit = diff - margin.detach().to(dtype);
    RewardModelLossResult result;
    result.loss = -torch::log_sigmoid(logit).mean();

    torch::NoGradGuard no_grad;
    result.accuracy = diff.gt(0).to(at::kDouble).mean().item<double>();
    result.mean_margin = diff.to(at::kDouble).mean().item<double>();
    result.chosen_mean = chosen.to(at::kDouble).mean().item<double>();
    result.rejected_mean = rejected.to(at::kDouble).mean().item<double>();
    return result;
  });
}

}  // namespace r1
