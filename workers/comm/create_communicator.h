// Picks and creates a Communicator backend ("auto", "single", "mpi", "nccl") for one group of
// ranks.
#ifndef R1_WORKERS_COMM_CREATE_COMMUNICATOR_H_
#define R1_WORKERS_COMM_CREATE_COMMUNICATOR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "workers/comm/communicator.h"

namespace r1 {

enum class CommBackend { kAuto, kSingle, kMpi, kNccl };

// "auto", "single", "mpi", "nccl" <-> CommBackend. InvalidArgument names the bad value.
absl::StatusOr<CommBackend> ParseCommBackend(absl::string_view name);
absl::string_view CommBackendName(CommBackend backend);

// The color meaning "every rank of the job".
inline constexpr int kWorldColor = -1;

struct CommOptions {
  // kAuto: "nccl" when use_gpu, NCCL is built in and a CUDA device is visible; else "mpi" when the
  // process was started by a launcher (mpirun: OMPI_COMM_WORLD_SIZE; PMI/PMIx: PMI_SIZE,
  // PMIX_RANK); else "single".
  CommBackend backend = CommBackend::kAuto;
  // Ranks that pass the same color (>= 0) form one group, ordered by their rank in the job;
  // kWorldColor = the whole job. For "mpi" and "nccl" creation is collective over the WHOLE job:
  // every process must create its communicators in the same order, even those not in the group.
  int color = kWorldColor;
  // For messages and logs only ("trainer", "weight-sync", ...).
  std::string group_name = "world";
  // The tensors this communicator will carry live on CUDA devices.
  bool use_gpu = false;
  // "nccl" only: CUDA device ordinal; -1 = the local rank (OMPI_COMM_WORLD_LOCAL_RANK or
  // SLURM_LOCALID) modulo the number of visible devices.
  int cuda_device = -1;
  // "nccl" only: bound on the unique-id exchange and ncclCommInitRank.
  absl::Duration init_timeout = absl::Minutes(5);
};

// True when a launcher started this process (see CommOptions::backend).
bool LaunchedByMpiLauncher();

// This process's rank among the processes of its launcher job on this node: the first valid
// non-negative of OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, LOCAL_RANK; 0 without any. What a
// worker's "cuda" means: cuda:LOCAL_RANK (modulo the visible devices).
int LauncherLocalRank();

// The backend kAuto resolves to on this process (never kAuto).
CommBackend ResolveCommBackend(const CommOptions& options);

// A communicator for `options`. Errors: InvalidArgument (bad color), Unimplemented ("nccl" asked
// for but not built in), FailedPrecondition (no CUDA device for "nccl"), Internal / Unavailable
// from MPI or NCCL initialization (message included), DeadlineExceeded (nccl init timed out).
absl::StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const CommOptions& options = {});

}  // namespace r1

#endif  // R1_WORKERS_COMM_CREATE_COMMUNICATOR_H_
