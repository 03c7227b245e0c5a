// The local-mode launcher: the one command that starts the worker processes of a run
// (`mpirun -np N r1 worker ...` or `srun -n N r1 worker ...`). The scheduler never manages
// worker processes itself beyond spawning and, on a relaunch, terminating that one command.
#ifndef R1_SCHEDULER_LAUNCHER_H_
#define R1_SCHEDULER_LAUNCHER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/subprocess.h"
#include "pipeline/config.h"
#include "pipeline/config_types.h"

namespace r1 {

struct WorkerLaunchSpec {
  Launcher launcher = Launcher::kMpirun;  // mpirun | srun
  int32_t ranks = 1;                      // worker processes (one job: they share MPI_COMM_WORLD)
  std::string r1_binary;                  // the r1 executable the workers run
  std::string scheduler_address;          // HOST:PORT the workers register with
  std::string token_file;                 // the run's token (mode 0600)
  CollectiveBackend backend = CollectiveBackend::kAuto;  // cluster.backend
  DeviceKind device = DeviceKind::kCpu;                  // cluster.device
  ModelDtype dtype = ModelDtype::kFloat32;  // compute dtype: float32 | bfloat16 (ModelComputeDtype)
  int32_t threads = 0;                      // LibTorch threads per worker; 0 = the worker's default
  double scheduler_timeout_s = 30;          // a worker whose scheduler is silent this long exits
  std::string log_file;  // stdout/stderr of the launcher and the workers (appended)
  TlsConfig tls;         // cluster.tls: passed as --tls-cert/--tls-key/--tls-ca[/--tls-server-name]
};

// The argv that starts the workers (for logs and tests). InvalidArgument for an unknown
// launcher (k8s workers are started by the MPI Operator: external mode) or ranks < 1.
absl::StatusOr<std::vector<std::string>> WorkerLaunchCommand(const WorkerLaunchSpec& spec);

// Spawns WorkerLaunchCommand(spec) in a new process group. NotFound when the launcher program is
// not installed (the message names it and the package to install).
absl::StatusOr<Subprocess> LaunchWorkers(const WorkerLaunchSpec& spec);

// Makes SIGINT and SIGTERM of this process also terminate the worker job launched last (its
// process group), then end this process as the signal would: a Ctrl-C of `r1 run` does not leave
// workers waiting for their heartbeat timeout. Idempotent.
void InstallLauncherSignalHandlers();

// The process group the handlers terminate (0: none). LaunchWorkers sets it; call with 0 once
// the job has been reaped.
void SetActiveWorkerGroup(pid_t group);

}  // namespace r1

#endif  // R1_SCHEDULER_LAUNCHER_H_
