// `r1 scheduler CONFIG`: the scheduler half of a run whose workers are placed by someone else
// (Slurm's srun, the Kubernetes MPI Operator, a hand-started mpirun): it starts the Scheduler
// service, writes RUN_DIR/token and RUN_DIR/scheduler.addr, waits for the workers to register
// (`r1 worker --scheduler ...`), and runs the pipeline on them to the end.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/pipeline_command.h"
#include "pipeline/config.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 scheduler CONFIG [--run-dir DIR] [--listen HOST:PORT] [--wait-workers SECONDS]
       r1 scheduler --resume DIR [--listen HOST:PORT] [--wait-workers SECONDS]

Runs a pipeline on workers started elsewhere: serves the Scheduler service on --listen (default
cluster.scheduler_address; 127.0.0.1 unless configured otherwise: use 0.0.0.0:PORT to accept
workers from other nodes), writes RUN_DIR/token (the run's secret, mode 0600) and
RUN_DIR/scheduler.addr, and waits for cluster.trainer_ranks (+ cluster.rollout_workers when
disaggregated) workers started as one launcher job:
  srun -n N r1 worker --scheduler $(cat RUN_DIR/scheduler.addr) --token-file RUN_DIR/token
A worker job that dies is awaited again (restart it) and the stage retried from its newest
checkpoint. See deploy/ for Slurm and Kubernetes files.

  --run-dir DIR           the run directory (default: the config's run.run_dir)
  --resume DIR            continue the run in DIR (the config is DIR/run.yaml)
  --listen HOST:PORT      where the Scheduler service listens
  --wait-workers SECONDS  how long to wait for the workers to register (default 3600)

The token: R1_TOKEN when set (e.g. from a Kubernetes Secret shared with the workers), else a
fresh one; it is written to RUN_DIR/token (mode 0600) either way.

When the run ends, success or failure, RUN_DIR/report.html holds its HTML report (r1 report).

Exit status: 0 when every stage succeeded, 1 when one failed or the config is invalid, 2 usage.)";

int RunScheduler(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"run-dir", "resume", "listen", "wait-workers"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  const bool resume = args.ok() && args->Has("resume");
  if (!args.ok() || args->positional().size() > 1 ||
      (resume && (args->Has("run-dir") || !args->positional().empty())) ||
      (!resume && args->positional().empty())) {
    std::fprintf(stderr, "r1 scheduler: %s\n%s\n",
                 !args.ok() ? std::string(args.status().message()).c_str()
                 : resume   ? "--resume DIR takes neither CONFIG nor --run-dir"
                            : "CONFIG is required",
                 kUsage);
    return 2;
  }
  absl::StatusOr<double> wait = args->GetDouble("wait-workers", 3600);
  if (!wait.ok() || *wait <= 0) {
    std::fprintf(stderr, "r1 scheduler: --wait-workers must be a positive number of seconds\n");
    return 2;
  }
  PipelineCommandOptions options;
  options.command = "r1 scheduler";
  options.external = true;
  options.listen = args->GetOr("listen", "");
  // A token given by the deployment (e.g. a Kubernetes Secret) instead of a fresh one.
  if (const char* token = std::getenv("R1_TOKEN"); token != nullptr && *token != '\0') {
    options.token = token;
  }
  options.register_timeout = absl::Seconds(*wait);
  if (resume) {
    options.resume = true;
    options.run_dir = *args->Get("resume");
    options.source = JoinPath(options.run_dir, "run.yaml");
  } else {
    options.source = args->positional()[0];
    options.run_dir = args->GetOr("run-dir", "");
  }
  absl::StatusOr<PipelineConfig> config = LoadConfig(options.source);
  if (!config.ok()) {
    std::fprintf(stderr, "r1 scheduler: %s: %s\n", options.source.c_str(),
                 std::string(config.status().message()).c_str());
    return 1;
  }
  if (config->cluster.launcher == Launcher::kInProcess) {
    std::fprintf(stderr,
                 "r1 scheduler: %s: cluster.launcher in_process has no worker processes; use "
                 "r1 run\n",
                 options.source.c_str());
    return 1;
  }
  return ExecutePipeline(*config, options);
}

R1_REGISTER_COMMAND(Command{"scheduler",
                            "run a pipeline on workers started elsewhere (srun, MPIJob)", kUsage,
                            RunScheduler});

}  // namespace
}  // namespace r1::cli
