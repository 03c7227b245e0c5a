// CreateCommunicator: resolves "auto" and dispatches to the single / mpi / nccl backend.
#include "workers/comm/create_communicator.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "workers/comm/mpi_communicator.h"
#include "workers/comm/single_communicator.h"
#ifdef R1_HAVE_NCCL
#include "workers/comm/nccl_communicator.h"
#endif

namespace r1 {

absl::StatusOr<CommBackend> ParseCommBackend(absl::string_view name) {
  if (name == "auto") return CommBackend::kAuto;
  if (name == "single") return CommBackend::kSingle;
  if (name == "mpi") return CommBackend::kMpi;
  if (name == "nccl") return CommBackend::kNccl;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown communicator backend '", name, "' (want auto, single, mpi or nccl)"));
}

absl::string_view CommBackendName(CommBackend backend) {
  switch (backend) {
    case CommBackend::kAuto:
      return "auto";
    case CommBackend::kSingle:
      return "single";
    case CommBackend::kMpi:
      return "mpi";
    case CommBackend::kNccl:
      return "nccl";
  }
  return "unknown";
}

bool LaunchedByMpiLauncher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

int LauncherLocalRank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "LOCAL_RANK"}) {
    const char* value = std::getenv(name);
    int rank = 0;
    if (value != nullptr && absl::SimpleAtoi(value, &rank) && rank >= 0) return rank;
  }
  return 0;
}

CommBackend ResolveCommBackend(const CommOptions& options) {
  if (options.backend != CommBackend::kAuto) return options.backend;
#ifdef R1_HAVE_NCCL
  if (options.use_gpu && CudaDeviceCount() > 0) return CommBackend::kNccl;
#endif
  if (LaunchedByMpiLauncher()) return CommBackend::kMpi;
  return CommBackend::kSingle;
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const CommOptions& options) {
  switch (ResolveCommBackend(options)) {
    case CommBackend::kSingle:
      if (options.color < -1) {
        return absl::InvalidArgumentError(absl::StrCat("communicator color ", options.color,
                                                       " is invalid (want >= 0, or -1 for world)"));
      }
      return CreateSingleCommunicator(options.group_name);
    case CommBackend::kMpi:
      return CreateMpiCommunicator(options);
    case CommBackend::kNccl:
#ifdef R1_HAVE_NCCL
      return CreateNcclCommunicator(options);
#else
      return absl::UnimplementedError(
          "communicator backend 'nccl' is not built in (NCCL was not found at configure time)");
#endif
    case CommBackend::kAuto:
      break;
  }
  return absl::InternalError("communicator backend did not resolve");
}

}  // namespace r1
