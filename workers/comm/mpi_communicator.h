// The "mpi" backend (OpenMPI): CPU tensors, non-blocking MPI collectives polled with MPI_Test
// until they finish or their timeout passes.
//
// MPI has no bf16 or f16 reduction: such tensors are all-reduced through an f32 copy (sum, max
// and min are exact in f32 for these inputs up to the final rounding back; avg divides in f32 and
// rounds once). Avg is a sum followed by a division by size(). Non-contiguous tensors go through
// a contiguous copy. Broadcast moves raw bytes, so any dtype works and results are bit-exact.
// After a timeout the in-flight MPI requests cannot be cancelled: their buffers are kept alive
// (leaked if they never finish) and the communicator is broken for further use.
#ifndef R1_WORKERS_COMM_MPI_COMMUNICATOR_H_
#define R1_WORKERS_COMM_MPI_COMMUNICATOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "workers/comm/communicator.h"
#include "workers/comm/create_communicator.h"

namespace r1 {

// Initializes MPI if needed and splits the job by options.color (collective over the whole job;
// see CommOptions). Errors: InvalidArgument for a bad color, Internal from MPI.
absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(const CommOptions& options);

}  // namespace r1

#endif  // R1_WORKERS_COMM_MPI_COMMUNICATOR_H_
