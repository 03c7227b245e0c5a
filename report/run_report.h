// The HTML run report: one self-contained page (inline SVG and CSS; no script, font or any other
// resource from outside the file) describing a run directory — the stage DAG with each stage's
// state and duration, the eval table, per-stage metric curves and a few sampled rollouts per
// stage that logs them. Written by `r1 report` and at the end of every `r1 run`/`r1 scheduler`.
#ifndef R1_REPORT_RUN_REPORT_H_
#define R1_REPORT_RUN_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace r1 {

struct RunReportOptions {
  int32_t max_samples_per_stage = 4;  // rollouts shown per stage (from its last logged step)
  int64_t max_sample_bytes = 3000;    // a longer prompt or response is cut (and says so)
};

// The metric keys of metrics.jsonl that get a chart, in the order shown, from the keys a stage
// logged: loss, reward_mean, every reward/<part>, accuracy, response_length_mean, kl, entropy,
// clip_fraction, importance_weight_mean (asynchronous RL), lr, train_tokens_per_s,
// rollout_tokens_per_s. Keys not logged are left out.
std::vector<std::string> ChartedMetricKeys(const std::vector<std::string>& logged_keys);

// The report page of run directory `run_dir`. NotFound when `run_dir` has no run.yaml (not a run
// directory; the message says so). Anything else the run lacks or cannot be read (a run.yaml
// that does not parse, a corrupt journal, a stage not started, a torn or unreadable metrics line,
// a missing eval.json) is described in the page instead of failing it.
absl::StatusOr<std::string> RenderRunReport(const std::string& run_dir,
                                            const RunReportOptions& options = {});

// Renders the report of `run_dir` and writes it to `out_path` atomically (readers see the old
// file or the whole new one). Errors of RenderRunReport, or the file error.
absl::Status WriteRunReport(const std::string& run_dir, const std::string& out_path,
                            const RunReportOptions& options = {});

}  // namespace r1

#endif  // R1_REPORT_RUN_REPORT_H_
