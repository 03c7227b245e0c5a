// torch::save into a file with errors that name it. LibTorch's own file writer aborts the whole
// process on a failing write (a full disk, RLIMIT_FSIZE): its zip writer throws from a destructor.
#ifndef R1_WORKERS_TORCH_SAVE_H_
#define R1_WORKERS_TORCH_SAVE_H_

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace r1 {

// Writes torch::save(optimizer) / torch::save(tensors) to `path` (created or truncated) and
// fsyncs it; the file loads with torch::load. A failing write or fsync returns Internal
// "write PATH: <strerror>" (e.g. "File too large", "No space left on device"); the file is then
// incomplete and the caller must not trust it. LibTorch exceptions propagate.
absl::Status SaveOptimizerFile(const torch::optim::Optimizer& optimizer, const std::string& path);
absl::Status SaveTensorsFile(const std::vector<at::Tensor>& tensors, const std::string& path);

}  // namespace r1

#endif  // R1_WORKERS_TORCH_SAVE_H_
