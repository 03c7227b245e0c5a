// The communicators one worker process needs: the data-parallel group of the trainer ranks and the
// weight-sync group (trainer rank 0 + the rollout-only workers of a disaggregated placement).
#ifndef R1_WORKERS_WORKER_COMMS_H_
#define R1_WORKERS_WORKER_COMMS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "workers/comm/communicator.h"
#include "workers/comm/create_communicator.h"

namespace r1 {

struct WorkerCommsOptions {
  bool is_trainer = false;      // this process trains (a data-parallel rank)
  bool in_weight_sync = false;  // member of the weight-sync group: trainer rank 0 + every
                                // rollout-only worker (disaggregated placement only)
  int group = 0;  // the worker group (cluster.worker_groups): groups are formed within it only
  CommBackend backend = CommBackend::kAuto;
  bool use_gpu = false;  // the groups carry CUDA tensors
  int cuda_device = -1;  // "nccl": the worker's CUDA ordinal; -1 = local rank modulo devices
  absl::Duration timeout = kDefaultCollectiveTimeout;  // per collective (also bounds the checks
                                                       // made at creation)
};

struct WorkerComms {
  std::unique_ptr<Communicator> trainer;      // the DP group of trainer ranks; null if !is_trainer
  std::unique_ptr<Communicator> weight_sync;  // null if !in_weight_sync
};

// Group names of the two communicators (for messages and logs).
inline constexpr char kTrainerGroupName[] = "trainer";
inline constexpr char kWeightSyncGroupName[] = "weight-sync";

// Collective over the whole launcher job (MPI_COMM_WORLD): every process calls it once, in the
// same order, whatever its options. The trainer group is created first, then the weight-sync
// group, each among the processes of the same `group` only; a process outside a group still takes
// part in its creation (MPI_Comm_split) and drops what it got. Trainers must be the lowest world
// ranks of their worker group (the role assignment guarantees it), so trainer rank 0 is rank 0
// (the broadcast root) of the weight-sync group; this is checked (one
// all-gather on the weight-sync group): exactly one trainer in it, at rank 0.
// With no launcher (backend resolves to "single"), the requested ones are "single" communicators.
// Errors: InvalidArgument ("single" asked for inside a launcher job of several processes),
// FailedPrecondition (the weight-sync group does not have its one trainer at rank 0), and those
// of CreateCommunicator (Internal, Unimplemented, DeadlineExceeded...).
// Thread-safety: call from one thread, before the communicators are used.
absl::StatusOr<WorkerComms> CreateWorkerComms(const WorkerCommsOptions& options);

}  // namespace r1

#endif  // R1_WORKERS_WORKER_COMMS_H_
