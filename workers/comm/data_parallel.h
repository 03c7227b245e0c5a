// Data-parallel helpers over a Communicator: average gradients across ranks after backward, and
// broadcast parameters from one rank (weight sync). Tensors are packed into flat buckets so that
// a model with many small parameters costs a few collectives, not one per parameter. Tensors move
// in their own dtype. Device tensors given to a host backend ("mpi", "single") travel as host
// copies of each bucket; "nccl" carries them on the device.
#ifndef R1_WORKERS_COMM_DATA_PARALLEL_H_
#define R1_WORKERS_COMM_DATA_PARALLEL_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "workers/comm/communicator.h"

namespace r1 {

struct GradSyncOptions {
  // Upper bound on one bucket's payload; a larger tensor forms a bucket of its own, and so does
  // (carried in place, without a copy) every contiguous tensor of 1 MiB or more. Must be > 0.
  int64_t bucket_bytes = int64_t{25} << 20;
  absl::Duration timeout = kDefaultCollectiveTimeout;  // per collective
};

struct ParamSyncOptions {
  int root = 0;  // rank whose parameters everyone receives
  int64_t bucket_bytes = int64_t{25} << 20;
  absl::Duration timeout = kDefaultCollectiveTimeout;  // per collective
};

// What one sync cost on this rank.
struct CommStats {
  int64_t bytes = 0;   // payload of the tensors synchronized (each counted once)
  double seconds = 0;  // wall time from the first collective started to the last completed
  int64_t collectives = 0;
};

// Averages the gradients of `params` across the ranks of `comm`, in place (param.grad()).
// `params`: the model's parameters, same order, shapes and dtypes on every rank (e.g.
// module->parameters()). Parameters that do not require grad are skipped; an undefined grad
// becomes zeros first, so that every rank issues the same collectives. Buckets hold tensors of one
// dtype and device, in order. Errors: InvalidArgument (bucket_bytes <= 0), or the first failing
// Work's status (DeadlineExceeded, Internal, ...); grads are then unspecified.
// Not thread-safe (uses `comm`).
absl::StatusOr<CommStats> AllReduceGradients(const std::vector<at::Tensor>& params,
                                             Communicator& comm,
                                             const GradSyncOptions& options = {});

// Makes every rank's `params` bit-for-bit equal to options.root's (in place, without autograd).
// Same contract on `params` and errors as AllReduceGradients.
absl::StatusOr<CommStats> BroadcastParameters(const std::vector<at::Tensor>& params,
                                              Communicator& comm,
                                              const ParamSyncOptions& options = {});

}  // namespace r1

#endif  // R1_WORKERS_COMM_DATA_PARALLEL_H_
