// `r1 run [CONFIG]`: the main job. Runs every stage of a pipeline (the embedded tiny-r1 pipeline
// without CONFIG) to the end on the workers the config's cluster section asks for (launched
// here in local mode), printing progress, and ends with the table of every eval.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/pipeline_command.h"
#include "pipeline/config.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 run [CONFIG] [--run-dir DIR] [--resume DIR] [--threads N]

Runs a pipeline: every stage of CONFIG (a YAML file; without it, the built-in tiny-r1 pipeline,
see configs/tiny-r1.yaml) in dependency order, with checkpoints, metrics and samples under the run
directory, and prints a table of every eval stage at the end (also in RUN_DIR/report.json). Its
end, success or failure, writes RUN_DIR/report.html: the HTML report (see `r1 report --help`).

  --run-dir DIR   the run directory (default: the config's run.run_dir, else runs/<run.name>)
  --resume DIR    continue the run in DIR: succeeded stages are skipped, the running one restarts
                  from its newest complete checkpoint (the config is DIR/run.yaml)
  --threads N     threads for each worker's tensor work (default: R1_THREADS, else its share
                  of the node's cores: the cores / the workers on the node)

Workers: with cluster.launcher mpirun (the default) or srun, `r1 run` starts the scheduler
service on cluster.scheduler_address, writes RUN_DIR/token (mode 0600) and
RUN_DIR/scheduler.addr, and launches cluster.trainer_ranks (+ cluster.rollout_workers when
disaggregated) `r1 worker` processes as one job (their output: RUN_DIR/workers.log). A worker
that dies is relaunched and its stage retried from the newest checkpoint. launcher in_process
runs everything inside this process. `r1 status --run-dir DIR` watches the run.

Metrics: with cluster.metrics_address (HOST:PORT, port 0 = any free port) the run serves
GET http://HOST:PORT/metrics in the Prometheus text format (stage states, steps, ETA, the latest
step metrics, worker liveness and heartbeat age) and writes that address to RUN_DIR/metrics.addr.

Exit status: 0 when every stage succeeded, 1 when one failed or the config is invalid, 2 usage.)";

int RunRun(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"run-dir", "resume", "threads"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok() || args->positional().size() > 1 ||
      (args->Has("resume") && (args->Has("run-dir") || !args->positional().empty()))) {
    std::fprintf(stderr, "r1 run: %s\n%s\n",
                 args.ok() ? "--resume DIR takes neither CONFIG nor --run-dir"
                           : std::string(args.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  absl::StatusOr<int64_t> threads = args->GetInt("threads", 0);
  if (!threads.ok()) {
    std::fprintf(stderr, "r1 run: %s\n", std::string(threads.status().message()).c_str());
    return 2;
  }
  PipelineCommandOptions options;
  options.command = "r1 run";
  options.threads = static_cast<int32_t>(*threads);
  absl::StatusOr<PipelineConfig> config;
  if (args->Has("resume")) {
    options.resume = true;
    options.run_dir = *args->Get("resume");
    options.source = JoinPath(options.run_dir, "run.yaml");
    config = LoadConfig(options.source);
  } else if (!args->positional().empty()) {
    options.source = args->positional()[0];
    config = LoadConfig(options.source);
    options.run_dir = args->GetOr("run-dir", "");
  } else {
    options.source = "(built-in tiny-r1)";
    config = ParseConfig(DefaultConfigYaml(), ConfigParseOptions{"", options.source});
    options.run_dir = args->GetOr("run-dir", "");
  }
  if (!config.ok()) {
    std::fprintf(stderr, "r1 run: %s: %s\n", options.source.c_str(),
                 std::string(config.status().message()).c_str());
    return 1;
  }
  return ExecutePipeline(*config, options);
}

R1_REGISTER_COMMAND(Command{"run", "run a pipeline to the end (default: the built-in tiny-r1)",
                            kUsage, RunRun});

}  // namespace
}  // namespace r1::cli
