// `r1 report RUN_DIR [--out FILE.html] [--samples N]`: writes the run's HTML report (see
// report/run_report.h). `r1 run` and `r1 scheduler` also write RUN_DIR/report.html at their end.
#include <cstdio>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "cli/args.h"
#include "cli/command.h"
#include "report/run_report.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 report RUN_DIR [--out FILE.html] [--samples N]

Writes one self-contained HTML page about a run (finished, failed, or still running): the stage
graph with each stage's state and duration, the eval table, per-stage charts of the metrics in
STAGE/metrics.jsonl (loss, reward and each reward part, accuracy, response length, KL, entropy,
clip fraction, learning rate, tokens/s) and a few sampled rollouts of the last logged step. What
the run lacks (a stage not started, a torn metrics line, a missing eval result) is said in the
page. It has no script and loads nothing from the network: open it in any browser, or mail it.
`r1 run` and `r1 scheduler` write it to RUN_DIR/report.html when the run ends.

  --out FILE.html  where to write it (default: RUN_DIR/report.html); written atomically
  --samples N      sampled rollouts shown per stage (default 4)

Exit status: 0 written, 1 RUN_DIR is not a run directory or the file cannot be written, 2 usage.)";

int RunReport(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"out", "samples"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok() || args->positional().size() != 1) {
    std::fprintf(
        stderr, "r1 report: %s\n%s\n",
        args.ok() ? "expected exactly one RUN_DIR" : std::string(args.status().message()).c_str(),
        kUsage);
    return 2;
  }
  absl::StatusOr<int64_t> samples = args->GetInt("samples", 4);
  if (!samples.ok() || *samples < 0 || *samples > 1000) {
    std::fprintf(stderr, "r1 report: --samples must be a whole number from 0 to 1000\n");
    return 2;
  }
  const std::string run_dir = args->positional()[0];
  const std::string out = args->GetOr("out", JoinPath(run_dir, "report.html"));
  RunReportOptions options;
  options.max_samples_per_stage = static_cast<int32_t>(*samples);
  absl::Status written = WriteRunReport(run_dir, out, options);
  if (!written.ok()) {
    std::fprintf(stderr, "r1 report: %s\n", std::string(written.message()).c_str());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

R1_REGISTER_COMMAND(Command{"report", "write a run's self-contained HTML report", kUsage,
                            RunReport});

}  // namespace
}  // namespace r1::cli
