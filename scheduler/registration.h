// How the scheduler admits a registering worker: what a Register request says about it (as the
// WorkerRegistry stores it), the roles its rank gets under the cluster config, and how many
// workers a run needs. No RPC and no process: the Scheduler service and Cluster use these, and
// fuzz/scheduler_request_fuzzer.cc drives them with hostile requests.
#ifndef R1_SCHEDULER_REGISTRATION_H_
#define R1_SCHEDULER_REGISTRATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/config.h"
#include "r1/v1/scheduler.pb.h"
#include "scheduler/worker_registry.h"

namespace r1 {

// The request's address, host, offered roles, MPI rank and world size, pid, GPUs and unusable
// reason, copied as they are: the registry and the role assigner judge them.
WorkerInfo WorkerInfoFromRegisterRequest(const v1::RegisterRequest& request);

// Workers of one worker group: trainer_ranks, plus rollout_workers when disaggregated.
int32_t WorkersPerGroup(const ClusterConfig& cluster);

// Workers a run needs: worker_groups groups of WorkersPerGroup.
int32_t ExpectedWorkers(const ClusterConfig& cluster);

// The roles and group of the worker of launcher rank `rank` under `cluster`: ranks [g * S,
// (g + 1) * S) form group g (S = WorkersPerGroup); within a group, the ranks below trainer_ranks
// are trainers (colocated: also rollout and reward; the group's first of a disaggregated group also
// "weight_sync"), the others rollout workers ("rollout", "weight_sync"). InvalidArgument for a rank
// beyond the expected count.
absl::StatusOr<RoleAssignment> AssignWorkerRoles(const ClusterConfig& cluster, int32_t rank);

// AssignWorkerRoles for `info`: by its own rank, or for a worker without one (mpi_rank < 0) by
// registration order, `registered_before` being the number of workers the registry holds before it.
absl::StatusOr<RoleAssignment> AssignRolesByRank(const ClusterConfig& cluster,
                                                 const WorkerInfo& info, size_t registered_before);

}  // namespace r1

#endif  // R1_SCHEDULER_REGISTRATION_H_
