// The "nccl" backend: CUDA tensors, collectives on a dedicated CUDA stream of a non-blocking NCCL
// communicator. The ncclUniqueId is made on rank 0 and broadcast over MPI (the group is an MPI
// split of the job, as for the "mpi" backend). Compiled only when NCCL is found (R1_HAVE_NCCL).
//
// Stream contract: the compute stream is the device's default stream, where LibTorch queues its
// kernels (r1 never switches streams). A collective's stream waits for what the compute stream had
// queued when the collective started (so tensors just computed are complete), and the compute
// stream's later work waits for the collective; neither waits on the host. Wait() returning OK
// means the results are complete on the device. Timeouts: Wait() polls
// cudaEventQuery and ncclCommGetAsyncError; when the timeout passes it calls ncclCommAbort and
// the communicator is broken. Barrier is an all-reduce of one device int. bf16 and f16 are
// reduced natively by NCCL. AllGatherBytes goes over the MPI communicator of the group.
#ifndef R1_WORKERS_COMM_NCCL_COMMUNICATOR_H_
#define R1_WORKERS_COMM_NCCL_COMMUNICATOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "workers/comm/communicator.h"
#include "workers/comm/create_communicator.h"

namespace r1 {

// Number of visible CUDA devices; 0 when the runtime reports none or fails (no driver, no GPU).
int CudaDeviceCount();

// Creates the group's NCCL communicator (collective over the whole job, see CommOptions).
// FailedPrecondition when no CUDA device is visible; DeadlineExceeded when the id exchange or
// NCCL init exceeds options.init_timeout; Internal with NCCL's/CUDA's message otherwise.
absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const CommOptions& options);

}  // namespace r1

#endif  // R1_WORKERS_COMM_NCCL_COMMUNICATOR_H_
