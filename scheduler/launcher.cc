// The local-mode worker launcher (see launcher.h).
#include "scheduler/launcher.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace r1 {
namespace {

std::atomic<pid_t> g_worker_group{0};

void TerminateWorkersAndDie(int signal) {
  const pid_t group = g_worker_group.load();
  if (group > 0) kill(-group, SIGTERM);  // async-signal-safe
  ::signal(signal, SIG_DFL);
  raise(signal);
}

}  // namespace

void InstallLauncherSignalHandlers() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  struct sigaction action = {};
  action.sa_handler = TerminateWorkersAndDie;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void SetActiveWorkerGroup(pid_t group) { g_worker_group.store(group); }

absl::StatusOr<std::vector<std::string>> WorkerLaunchCommand(const WorkerLaunchSpec& spec) {
  if (spec.ranks < 1) {
    return absl::InvalidArgumentError(absl::StrCat("worker ranks must be >= 1, got ", spec.ranks));
  }
  std::vector<std::string> argv;
  if (spec.launcher == Launcher::kMpirun) {
    argv = {"mpirun", "-np", std::to_string(spec.ranks), "--oversubscribe", "--bind-to", "none"};
    if (geteuid() == 0) argv.push_back("--allow-run-as-root");
    // One node: shared memory only, which works without any network interface set up.
    argv.insert(argv.end(),
                {"--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none"});
  } else if (spec.launcher == Launcher::kSrun) {
    argv = {"srun", "--ntasks", std::to_string(spec.ranks), "--kill-on-bad-exit=1"};
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("cluster.launcher \"", ToString(spec.launcher),
                     "\" cannot start workers in local mode (mpirun | srun; Kubernetes workers "
                     "come from an MPIJob with cluster.mode: external)"));
  }
  std::vector<std::string> worker = {spec.r1_binary,
                                     "worker",
                                     "--scheduler",
                                     spec.scheduler_address,
                                     "--token-file",
                                     spec.token_file,
                                     "--backend",
                                     std::string(ToString(spec.backend)),
                                     "--device",
                                     std::string(ToString(spec.device)),
                                     "--dtype",
                                     std::string(ToString(spec.dtype)),
                                     "--scheduler-timeout",
                                     absl::StrFormat("%g", spec.scheduler_timeout_s)};
  if (spec.threads > 0) {
    worker.push_back("--threads");
    worker.push_back(std::to_string(spec.threads));
  }
  if (spec.tls.enabled()) {
    worker.insert(worker.end(), {"--tls-cert", spec.tls.cert, "--tls-key", spec.tls.key,
                                 "--tls-ca", spec.tls.ca});
    if (!spec.tls.server_name.empty()) {
      worker.insert(worker.end(), {"--tls-server-name", spec.tls.server_name});
    }
  }
  argv.insert(argv.end(), worker.begin(), worker.end());
  return argv;
}

absl::StatusOr<Subprocess> LaunchWorkers(const WorkerLaunchSpec& spec) {
  absl::StatusOr<std::vector<std::string>> argv = WorkerLaunchCommand(spec);
  if (!argv.ok()) return argv.status();
  absl::StatusOr<std::string> program = FindInPath(argv->front());
  if (!program.ok()) {
    return absl::NotFoundError(absl::StrCat("cannot launch workers: ", program.status().message(),
                                            spec.launcher == Launcher::kMpirun
                                                ? " (install openmpi-bin, or set cluster.launcher)"
                                                : ""));
  }
  SpawnOptions options;
  options.log_file = spec.log_file;
  absl::StatusOr<Subprocess> job = Subprocess::Spawn(*argv, options);
  if (job.ok()) SetActiveWorkerGroup(job->pid());
  return job;
}

}  // namespace r1
