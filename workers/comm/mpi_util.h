// MPI plumbing shared by the "mpi" and "nccl" backends (internal to workers/comm): one
// MPI_Init_thread per process, error conversion, communicator splits, deadline-bounded polling.
#ifndef R1_WORKERS_COMM_MPI_UTIL_H_
#define R1_WORKERS_COMM_MPI_UTIL_H_

#include <mpi.h>

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace r1::comm_internal {

// Initializes MPI once per process (MPI_THREAD_MULTIPLE requested) unless something else already
// did; MPI is then finalized at process exit (std::atexit) by whoever initialized it. Thread-safe.
// Internal error (with MPI's message) if MPI_Init_thread fails or MPI was already finalized.
absl::Status EnsureMpiInitialized();

// A lock to hold around MPI calls: a process-wide mutex when MPI gave less than
// MPI_THREAD_MULTIPLE, an unlocked (deferred) lock otherwise.
std::unique_lock<std::mutex> MpiLock();

// Internal error "<what>: <MPI error string>" for a failed MPI return code; OK for MPI_SUCCESS.
absl::Status MpiStatus(int code, absl::string_view what);

// A new communicator of the job's ranks that pass the same `color` (kWorldColor = -1: all ranks),
// ordered by job rank, with MPI_ERRORS_RETURN. Blocks until every rank of the job calls it.
absl::StatusOr<MPI_Comm> SplitWorld(int color);

// Polls `requests` with MPI_Testall (sleeping briefly between polls) until all are complete (OK,
// requests become MPI_REQUEST_NULL) or `deadline` passes (DeadlineExceeded naming `what`; the
// requests stay pending). Internal on an MPI error.
absl::Status PollRequests(std::vector<MPI_Request>& requests, absl::Time deadline,
                          absl::string_view what);

// Waits before the i-th poll of a wait loop: yields for the first 10^4 polls (MPI progresses a
// non-blocking collective only while it is tested), then sleeps of up to 1 ms.
void PollBackoff(int iteration);

}  // namespace r1::comm_internal

#endif  // R1_WORKERS_COMM_MPI_UTIL_H_
