// `r1 run [CONFIG]`: the main job. Runs every stage of a pipeline (the embedded tiny-r1 pipeline
// without CONFIG) to the end, printing progress, and ends with the table of every eval. Today the
// stages run on an in-process worker (colocated placement on this machine).
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "cli/args.h"
#include "cli/command.h"
#include "model/threads.h"
#include "pipeline/config.h"
#include "scheduler/pipeline_runner.h"
#include "workers/local_worker.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 run [CONFIG] [--run-dir DIR] [--resume DIR] [--threads N]

Runs a pipeline: every stage of CONFIG (a YAML file; without it, the built-in tiny-r1 pipeline,
see configs/tiny-r1.yaml) in dependency order, with checkpoints, metrics and samples under the run
directory, and prints a table of every eval stage at the end (also in RUN_DIR/report.json).

  --run-dir DIR   the run directory (default: the config's run.run_dir, else runs/<run.name>)
  --resume DIR    continue the run in DIR: succeeded stages are skipped, the running one restarts
                  from its newest complete checkpoint (the config is DIR/run.yaml)
  --threads N     LibTorch intra-op threads (default: R1_THREADS, else every core)

Exit status: 0 when every stage succeeded, 1 when one failed or the config is invalid, 2 usage.)";

void PrintLine(const std::string& line) {
  std::time_t now = std::time(nullptr);
  char stamp[16];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", std::localtime(&now));
  std::printf("%s %s\n", stamp, line.c_str());
  std::fflush(stdout);
}

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
  PipelineRunOptions options;
  absl::StatusOr<PipelineConfig> config;
  std::string source;
  if (args->Has("resume")) {
    options.resume = true;
    options.run_dir = *args->Get("resume");
    source = JoinPath(options.run_dir, "run.yaml");
    config = LoadConfig(source);
  } else if (!args->positional().empty()) {
    source = args->positional()[0];
    config = LoadConfig(source);
    options.run_dir = args->GetOr("run-dir", "");
  } else {
    source = "(built-in tiny-r1)";
    config = ParseConfig(DefaultConfigYaml(), ConfigParseOptions{"", source});
    options.run_dir = args->GetOr("run-dir", "");
  }
  if (!config.ok()) {
    std::fprintf(stderr, "r1 run: %s: %s\n", source.c_str(),
                 std::string(config.status().message()).c_str());
    return 1;
  }
  const int32_t used_threads = ConfigureThreads(static_cast<int32_t>(*threads));
  options.log = PrintLine;
  PrintLine(absl::StrCat("r1 run: ", source, ", ", config->stages.size(), " stages, run dir ",
                         options.run_dir.empty() ? ResolvedRunDir(*config) : options.run_dir, ", ",
                         used_threads, " threads"));
  LocalWorker worker;
  absl::StatusOr<PipelineReport> report = RunPipeline(*config, &worker, options);
  if (!report.ok()) {
    std::fprintf(stderr, "r1 run: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  std::printf("\n%s\nrun directory: %s (report.json, journal, per-stage metrics and samples)\n",
              FormatEvalTable(report->evals).c_str(), report->run_dir.c_str());
  return 0;
}

R1_REGISTER_COMMAND(Command{"run", "run a pipeline to the end (default: the built-in tiny-r1)",
                            kUsage, RunRun});

}  // namespace
}  // namespace r1::cli
