// Admitting a registering worker (see registration.h).
#include "scheduler/registration.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace r1 {

WorkerInfo WorkerInfoFromRegisterRequest(const v1::RegisterRequest& request) {
  WorkerInfo info;
  info.address = request.address();
  info.host = request.host();
  info.offered_roles.assign(request.roles().begin(), request.roles().end());
  info.mpi_rank = request.mpi_rank();
  info.mpi_world_size = request.mpi_world_size();
  info.pid = request.pid();
  info.gpus = request.resources().gpus();
  info.unusable = request.unusable();
  return info;
}

int32_t WorkersPerGroup(const ClusterConfig& cluster) {
  return cluster.trainer_ranks +
         (cluster.placement == Placement::kDisaggregated ? cluster.rollout_workers : 0);
}

int32_t ExpectedWorkers(const ClusterConfig& cluster) {
  return std::max(1, cluster.worker_groups) * WorkersPerGroup(cluster);
}

absl::StatusOr<RoleAssignment> AssignWorkerRoles(const ClusterConfig& cluster, int32_t rank) {
  const int32_t expected = ExpectedWorkers(cluster);
  if (rank < 0 || rank >= expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker rank ", rank, " is beyond the ", expected,
                     " workers the config asks for (cluster.trainer_ranks, "
                     "cluster.rollout_workers, cluster.worker_groups)"));
  }
  const int32_t per_group = WorkersPerGroup(cluster);
  RoleAssignment out;
  out.group = rank / per_group;
  const int32_t local = rank % per_group;
  const bool disaggregated = cluster.placement == Placement::kDisaggregated;
  if (local >= cluster.trainer_ranks) {
    out.roles = {"rollout", "weight_sync"};
  } else if (!disaggregated) {
    out.roles = {"trainer", "rollout", "reward"};
  } else if (local == 0) {
    out.roles = {"trainer", "reward", "weight_sync"};
  } else {
    out.roles = {"trainer", "reward"};
  }
  return out;
}

absl::StatusOr<RoleAssignment> AssignRolesByRank(const ClusterConfig& cluster,
                                                 const WorkerInfo& info, size_t registered_before) {
  return AssignWorkerRoles(
      cluster, info.mpi_rank >= 0 ? info.mpi_rank : static_cast<int32_t>(registered_before));
}

}  // namespace r1
