// Where a worker's tensors live: the device a worker is asked for ("cpu", "cuda", "cuda:N")
// turned into a concrete one ("cpu", "cuda:N") before it registers, with a reason a person can act
// on when CUDA cannot be had (a CPU-only LibTorch, no visible device, an ordinal out of range).
#ifndef R1_WORKERS_DEVICE_H_
#define R1_WORKERS_DEVICE_H_

#include <string>

#include "absl/status/statusor.h"

namespace r1 {

// What this process can see of CUDA.
struct CudaAvailability {
  bool built = false;  // the linked LibTorch has CUDA support
  int devices = 0;     // CUDA devices visible to this process (after CUDA_VISIBLE_DEVICES)
};

// Probes the linked LibTorch (cheap after the first call; no CUDA context is created when there
// is no device).
CudaAvailability ProbeCuda();

// The concrete device for a request: "cpu" -> "cpu"; "cuda" -> "cuda:<local_rank % devices>";
// "cuda:N" -> itself when N < devices. InvalidArgument for a malformed request (the message
// lists the accepted forms); FailedPrecondition "cannot use device REQUESTED: REASON" when CUDA
// cannot be had, REASON being "this LibTorch was built without CUDA", "no CUDA device is visible
// to this process (CUDA_VISIBLE_DEVICES=...)" or the ordinal out of range.
absl::StatusOr<std::string> ResolveWorkerDevice(const std::string& requested, int local_rank);
// The same against given facts (for tests).
absl::StatusOr<std::string> ResolveWorkerDevice(const std::string& requested, int local_rank,
                                                const CudaAvailability& cuda);

// LauncherLocalRank() (workers/comm/create_communicator.h) is the local rank to pass.

// The CUDA ordinal of a concrete device ("cuda:3" -> 3); -1 for "cpu" or anything else.
int CudaOrdinal(const std::string& device);

}  // namespace r1

#endif  // R1_WORKERS_DEVICE_H_
