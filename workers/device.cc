// Where a worker's tensors live (see device.h).
#include "workers/device.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace r1 {
namespace {

std::string VisibleDevicesVariable() {
  const char* value = std::getenv("CUDA_VISIBLE_DEVICES");
  return value == nullptr ? "CUDA_VISIBLE_DEVICES unset"
                          : absl::StrCat("CUDA_VISIBLE_DEVICES=", value);
}

}  // namespace

CudaAvailability ProbeCuda() {
  CudaAvailability cuda;
  // The CUDA hooks are registered by LibTorch's CUDA library; a CPU-only build has none (and
  // at::hasCUDA() alone cannot tell that apart from a CUDA build without a device).
  cuda.built = at::CUDAHooksRegistry()->Has("CUDAHooks") || at::detail::getCUDAHooks().hasCUDART();
  cuda.devices = cuda.built ? static_cast<int>(torch::cuda::device_count()) : 0;
  return cuda;
}

absl::StatusOr<std::string> ResolveWorkerDevice(const std::string& requested, int local_rank) {
  if (requested == "cpu") return std::string("cpu");  // no CUDA probe for CPU workers
  return ResolveWorkerDevice(requested, local_rank, ProbeCuda());
}

absl::StatusOr<std::string> ResolveWorkerDevice(const std::string& requested, int local_rank,
                                                const CudaAvailability& cuda) {
  if (requested == "cpu") return std::string("cpu");
  int ordinal = -1;  // -1: "cuda", the local rank's device
  if (requested != "cuda") {
    if (!absl::StartsWith(requested, "cuda:") || !absl::SimpleAtoi(requested.substr(5), &ordinal) ||
        ordinal < 0 || requested.substr(5).find_first_not_of("0123456789") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device \"", requested, "\" is not one of cpu, cuda, cuda:N (N a CUDA ordinal)"));
    }
  }
  const std::string cannot = absl::StrCat("cannot use device ", requested, ": ");
  if (!cuda.built) {
    return absl::FailedPreconditionError(
        absl::StrCat(cannot, "this LibTorch was built without CUDA"));
  }
  if (cuda.devices <= 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        cannot, "no CUDA device is visible to this process (", VisibleDevicesVariable(), ")"));
  }
  if (ordinal < 0) return absl::StrCat("cuda:", std::max(local_rank, 0) % cuda.devices);
  if (ordinal >= cuda.devices) {
    return absl::FailedPreconditionError(absl::StrCat(
        cannot, "only ", cuda.devices, " CUDA device", cuda.devices == 1 ? " is" : "s are",
        " visible to this process (", VisibleDevicesVariable(), ")"));
  }
  return requested;
}

int CudaOrdinal(const std::string& device) {
  int ordinal = -1;
  if (!absl::StartsWith(device, "cuda:") || !absl::SimpleAtoi(device.substr(5), &ordinal)) {
    return -1;
  }
  return ordinal < 0 ? -1 : ordinal;
}

}  // namespace r1
