// CreateWorkerComms: the trainer and weight-sync groups of a worker process (see worker_comms.h).
#include "workers/worker_comms.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "workers/comm/single_communicator.h"

namespace r1 {
namespace {

// Colors of the job split: within each worker group, members of a communicator and everyone
// else.
int MemberColor(int group) { return 2 * group; }
int OtherColor(int group) { return 2 * group + 1; }

// Processes in this launcher job, from the launcher's environment; 1 when unknown.
int LauncherWorldSize() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* value = std::getenv(name);
    int size = 0;
    if (value != nullptr && absl::SimpleAtoi(value, &size) && size > 0) return size;
  }
  return 1;
}

// Creates (collectively over the job) the group of the processes with `member` set. Members get
// a communicator of `backend`; the others join the split over plain MPI (so that no GPU resources
// are spent on a group they do not need) and get null.
absl::StatusOr<std::unique_ptr<Communicator>> SplitGroup(bool member, const std::string& name,
                                                         const WorkerCommsOptions& options) {
  CommOptions comm;
  comm.backend = member ? options.backend : CommBackend::kMpi;
  comm.color = member ? MemberColor(options.group) : OtherColor(options.group);
  comm.group_name = member ? name : absl::StrCat("not-", name);
  comm.use_gpu = member && options.use_gpu;
  comm.cuda_device = options.cuda_device;
  comm.init_timeout = options.timeout;
  R1_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> group, CreateCommunicator(comm));
  if (!member) return nullptr;
  return group;
}

// The weight-sync group must hold exactly one trainer, at rank 0 (the broadcast root).
absl::Status CheckWeightSyncRoot(Communicator& group, bool is_trainer, absl::Duration timeout) {
  AllGatherOptions gather;
  gather.timeout = timeout;
  R1_ASSIGN_OR_RETURN(std::vector<std::string> roles,
                      group.AllGatherBytes(is_trainer ? "t" : "r", gather));
  std::vector<int> trainers;
  for (size_t r = 0; r < roles.size(); ++r) {
    if (roles[r] == "t") trainers.push_back(static_cast<int>(r));
  }
  if (trainers.size() == 1 && trainers[0] == 0) return absl::OkStatus();
  std::string where;
  for (int r : trainers) absl::StrAppend(&where, where.empty() ? "" : ", ", r);
  return absl::FailedPreconditionError(
      absl::StrCat("weight-sync group of ", roles.size(),
                   " ranks must hold exactly one trainer (trainer rank "
                   "0) at rank 0; trainers found at ranks [",
                   where, "]"));
}

}  // namespace

absl::StatusOr<WorkerComms> CreateWorkerComms(const WorkerCommsOptions& options) {
  CommOptions probe;
  probe.backend = options.backend;
  probe.use_gpu = options.use_gpu;
  WorkerComms comms;
  if (ResolveCommBackend(probe) == CommBackend::kSingle) {
    const int world = LauncherWorldSize();
    if (world > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("communicator backend 'single' cannot connect the ", world,
                       " processes of this launcher job (use auto, mpi or nccl)"));
    }
    if (options.is_trainer) comms.trainer = CreateSingleCommunicator(kTrainerGroupName);
    if (options.in_weight_sync) comms.weight_sync = CreateSingleCommunicator(kWeightSyncGroupName);
    return comms;
  }
  R1_ASSIGN_OR_RETURN(comms.trainer, SplitGroup(options.is_trainer, kTrainerGroupName, options));
  R1_ASSIGN_OR_RETURN(comms.weight_sync,
                      SplitGroup(options.in_weight_sync, kWeightSyncGroupName, options));
  if (comms.weight_sync != nullptr) {
    R1_RETURN_IF_ERROR(
        CheckWeightSyncRoot(*comms.weight_sync, options.is_trainer, options.timeout));
  }
  return comms;
}

}  // namespace r1
