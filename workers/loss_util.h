// Argument checks and LibTorch-exception conversion shared by the loss functions
// (policy_loss, sft_loss, reward_model_loss). Internal to workers/; not a general tensor library.
#ifndef R1_WORKERS_LOSS_UTIL_H_
#define R1_WORKERS_LOSS_UTIL_H_

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/exceptions.h"

namespace r1 {
namespace loss_internal {

// "[2, 3]" for a tensor of shape 2x3; "undefined" for an undefined tensor.
std::string ShapeString(const at::Tensor& t);

// InvalidArgument naming `name` unless `t` is defined.
absl::Status CheckDefined(const at::Tensor& t, absl::string_view name);

// InvalidArgument naming `name` and both shapes unless `t` has exactly the shape `expected`.
absl::Status CheckShape(const at::Tensor& t, absl::string_view name,
                        const std::vector<int64_t>& expected);

// InvalidArgument naming `name` unless `t` has a floating-point dtype.
absl::Status CheckFloating(const at::Tensor& t, absl::string_view name);

// InvalidArgument naming `name` unless `t` lives on `device` (the device of `reference_name`).
absl::Status CheckDevice(const at::Tensor& t, absl::string_view name, const c10::Device& device,
                         absl::string_view reference_name);

// InvalidArgument naming `name` unless every element of `t` is 0 or 1 (bool tensors pass).
absl::Status CheckBinaryMask(const at::Tensor& t, absl::string_view name);

// InvalidArgument naming `name` unless `value` is finite and within [lo, hi].
absl::Status CheckRange(double value, absl::string_view name, double lo, double hi);

// The message of `e`: a LibTorch error's without its C++ backtrace, otherwise e.what().
inline const char* TorchErrorMessage(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  return torch_error != nullptr ? torch_error->what_without_backtrace() : e.what();
}

// Runs `fn` (returning absl::Status or absl::StatusOr<T>) and turns a LibTorch or standard
// exception escaping it into InternalError("<what>: <TorchErrorMessage>").
template <typename Fn>
auto CatchTorchErrors(absl::string_view what, Fn&& fn) -> decltype(fn()) {
  return CatchExceptions(what, std::forward<Fn>(fn), TorchErrorMessage);
}

}  // namespace loss_internal
}  // namespace r1

#endif  // R1_WORKERS_LOSS_UTIL_H_
