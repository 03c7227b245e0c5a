// Argument checks shared by the loss functions; see loss_util.h.
#include "workers/loss_util.h"

#include <cmath>

#include "absl/strings/str_join.h"

namespace r1 {
namespace loss_internal {

std::string ShapeString(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

absl::Status CheckDefined(const at::Tensor& t, absl::string_view name) {
  if (t.defined()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(name, " is required but undefined"));
}

absl::Status CheckShape(const at::Tensor& t, absl::string_view name,
                        const std::vector<int64_t>& expected) {
  if (t.defined() && t.sizes().vec() == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      name, " must have shape [", absl::StrJoin(expected, ", "), "], got ", ShapeString(t)));
}

absl::Status CheckFloating(const at::Tensor& t, absl::string_view name) {
  if (t.is_floating_point()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(name, " must be a floating-point tensor, got ",
                                                 std::string(c10::toString(t.scalar_type()))));
}

absl::Status CheckDevice(const at::Tensor& t, absl::string_view name, const c10::Device& device,
                         absl::string_view reference_name) {
  if (t.device() == device) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(name, " is on ", t.device().str(), " but ",
                                                 reference_name, " is on ", device.str()));
}

absl::Status CheckBinaryMask(const at::Tensor& t, absl::string_view name) {
  if (t.scalar_type() == at::kBool) return absl::OkStatus();
  if (t.is_complex()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be a real 0/1 mask"));
  }
  const bool binary = t.eq(0).logical_or(t.eq(1)).all().item<bool>();
  if (binary) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(name, " must hold only 0 and 1 (bool or numeric mask)"));
}

absl::Status CheckRange(double value, absl::string_view name, double lo, double hi) {
  if (std::isfinite(value) && value >= lo && value <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(name, " must be in [", lo, ", ", hi, "], got ", value));
}

}  // namespace loss_internal
}  // namespace r1
