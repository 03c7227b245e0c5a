// The data-plane Communicator: collectives (all-reduce, broadcast, barrier, all-gather of bytes)
// among the ranks of one group, modelled on c10d's ProcessGroup/Work but narrow.
#ifndef R1_WORKERS_COMM_COMMUNICATOR_H_
#define R1_WORKERS_COMM_COMMUNICATOR_H_

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace r1 {

// Default time a collective may take before it is reported as DeadlineExceeded.
inline constexpr absl::Duration kDefaultCollectiveTimeout = absl::Minutes(10);

enum class ReduceOp { kSum, kAvg, kMax, kMin };

// "sum", "avg", "max", "min".
absl::string_view ReduceOpName(ReduceOp op);

struct AllReduceOptions {
  ReduceOp op = ReduceOp::kSum;
  // Measured from the call that starts the collective (not from Wait()).
  absl::Duration timeout = kDefaultCollectiveTimeout;
};

struct BroadcastOptions {
  int root = 0;  // rank (in this communicator) whose tensors every rank receives
  absl::Duration timeout = kDefaultCollectiveTimeout;
};

struct BarrierOptions {
  absl::Duration timeout = kDefaultCollectiveTimeout;
};

struct AllGatherOptions {
  absl::Duration timeout = kDefaultCollectiveTimeout;
};

// The handle of one started collective. Wait() blocks until it is finished on this rank and
// reports how it ended:
//   OK                  the tensors hold the result;
//   DeadlineExceeded    the op's timeout passed (a peer died, hung, or never joined). The
//                       communicator is then broken: later ops fail with FailedPrecondition, and
//                       the tensors' contents are unspecified;
//   InvalidArgument     bad input (dtype, device, root, ...), detected before anything was sent;
//   FailedPrecondition  the communicator was already broken;
//   Internal            the backend reported an error (its message is included).
// Wait() is idempotent (a second call returns the same status). Not thread-safe: one thread at a
// time per Work. A Work may outlive its Communicator (they share the backend's state).
class Work {
 public:
  virtual ~Work() = default;
  virtual absl::Status Wait() = 0;
  // Non-blocking: true once Wait() would return without blocking.
  virtual bool IsCompleted() = 0;
};

// A Work that is finished from the start with `status` (used for validation errors and by the
// single-process backend).
std::unique_ptr<Work> CompletedWork(absl::Status status);

// A group of `size()` ranks that run collectives together. Every rank must issue the same
// collectives in the same order (as with MPI and NCCL); tensors must have the same shapes and
// dtypes on every rank. Ops work in place on the given tensors, which must stay alive and must not
// be touched until the Work has completed.
//
// Tensor dtypes: all-reduce takes f32, f64, bf16, f16, i32 and i64 (avg only for floating
// types); broadcast takes any dtype. Device: CPU for "single" and "mpi", CUDA for "nccl".
//
// Thread-safety: not thread-safe. Issue ops and wait on their Works from one thread at a time
// (external synchronization); different Communicators may be used from different threads.
class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;  // 0 .. size()-1 within this group
  virtual int size() const = 0;
  virtual absl::string_view backend() const = 0;  // "single", "mpi" or "nccl"
  // The group name given at creation ("world" for the whole job).
  virtual const std::string& group_name() const = 0;

  // Element-wise reduction of each tensor across ranks; every rank ends with the result.
  virtual std::unique_ptr<Work> AllReduce(std::vector<at::Tensor>& tensors,
                                          const AllReduceOptions& options = {}) = 0;
  // Every rank's tensors become bit-for-bit copies of the root's.
  virtual std::unique_ptr<Work> Broadcast(std::vector<at::Tensor>& tensors,
                                          const BroadcastOptions& options = {}) = 0;
  // Completes once every rank has entered the barrier.
  virtual std::unique_ptr<Work> Barrier(const BarrierOptions& options = {}) = 0;
  // Blocking: every rank's `mine` (any length), indexed by rank. Errors as for Work::Wait().
  virtual absl::StatusOr<std::vector<std::string>> AllGatherBytes(
      const std::string& mine, const AllGatherOptions& options = {}) = 0;
};

// Checks that every tensor is defined, and for all-reduce that its dtype is supported and `op`
// applies to it. InvalidArgument naming the tensor index and dtype otherwise.
absl::Status ValidateAllReduceTensors(const std::vector<at::Tensor>& tensors, ReduceOp op);
absl::Status ValidateBroadcastTensors(const std::vector<at::Tensor>& tensors, int root, int size);

}  // namespace r1

#endif  // R1_WORKERS_COMM_COMMUNICATOR_H_
