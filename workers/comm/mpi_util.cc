// MPI plumbing for the comm backends: init guard, error strings, splits, bounded polling.
#include "workers/comm/mpi_util.h"

#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace r1::comm_internal {
namespace {

std::once_flag g_init_once;
absl::Status* g_init_status = nullptr;  // set once under g_init_once; never freed
bool g_serialize_calls = true;          // true unless MPI_THREAD_MULTIPLE was provided

std::mutex& GlobalMpiMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

void FinalizeMpiAtExit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

absl::Status InitOnce() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return absl::InternalError("MPI was already finalized in this process");
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = MPI_THREAD_SINGLE;
  if (initialized) {
    MPI_Query_thread(&provided);
  } else {
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) return MpiStatus(rc, "MPI_Init_thread");
    std::atexit(FinalizeMpiAtExit);
  }
  g_serialize_calls = provided < MPI_THREAD_MULTIPLE;
  // Errors come back as return codes (turned into Status) instead of aborting the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  return absl::OkStatus();
}

}  // namespace

absl::Status EnsureMpiInitialized() {
  std::call_once(g_init_once, [] { g_init_status = new absl::Status(InitOnce()); });
  return *g_init_status;
}

std::unique_lock<std::mutex> MpiLock() {
  if (g_serialize_calls) return std::unique_lock<std::mutex>(GlobalMpiMutex());
  return std::unique_lock<std::mutex>(GlobalMpiMutex(), std::defer_lock);
}

absl::Status MpiStatus(int code, absl::string_view what) {
  if (code == MPI_SUCCESS) return absl::OkStatus();
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, message, &length) != MPI_SUCCESS) length = 0;
  return absl::InternalError(
      absl::StrCat(what, " failed: ", absl::string_view(message, length), " (code ", code, ")"));
}

absl::StatusOr<MPI_Comm> SplitWorld(int color) {
  if (color < -1) {
    return absl::InvalidArgumentError(
        absl::StrCat("communicator color ", color, " is invalid (want >= 0, or -1 for world)"));
  }
  R1_RETURN_IF_ERROR(EnsureMpiInitialized());
  int world_rank = 0;
  MPI_Comm comm = MPI_COMM_NULL;
  {
    auto lock = MpiLock();
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    // The whole-job group uses a color no user group can (colors are >= 0, INT_MAX is reserved),
    // so a rank that mixes up colors forms a wrong group instead of hanging in a mismatched call.
    const int split_color = color == -1 ? INT_MAX : color;
    R1_RETURN_IF_ERROR(MpiStatus(MPI_Comm_split(MPI_COMM_WORLD, split_color, world_rank, &comm),
                                 "MPI_Comm_split"));
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  }
  return comm;
}

void PollBackoff(int iteration) {
  // Open MPI moves a non-blocking collective forward only inside MPI_Test: sleeping between tests
  // stalls the transfer itself (a 56 MB weight broadcast ran at 7% of MPI_Bcast's bytes/s with
  // sleeps from the 16th test on; bench/weight_sync_bench). So the first ~10^4 tests only yield
  // (tens of milliseconds), and only a wait longer than that backs off to sleeps.
  if (iteration < 10000) {
    std::this_thread::yield();
  } else {
    const int us = iteration < 10100 ? 50 : (iteration < 10400 ? 200 : 1000);
    std::this_thread::sleep_for(std::chrono::microseconds(us));
  }
}

absl::Status PollRequests(std::vector<MPI_Request>& requests, absl::Time deadline,
                          absl::string_view what) {
  if (requests.empty()) return absl::OkStatus();
  for (int i = 0;; ++i) {
    int done = 0;
    {
      auto lock = MpiLock();
      int rc = MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done,
                           MPI_STATUSES_IGNORE);
      if (rc != MPI_SUCCESS) return MpiStatus(rc, absl::StrCat(what, ": MPI_Testall"));
    }
    if (done) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(what,
                       " did not complete before its timeout (a peer rank may have died, "
                       "hung, or not joined the collective)"));
    }
    PollBackoff(i);
  }
}

}  // namespace r1::comm_internal
