// The run's status (the status RPC's RunStatus and the worker registry) in the Prometheus text
// exposition format 0.0.4, for the scheduler's GET /metrics (cluster.metrics_address).
//
// Metrics (every one a gauge; label values are the names the config and the status RPC use):
//   r1_run_info{run, run_dir} 1                      the run's identity
//   r1_run_start_time_seconds                        when the scheduler started (Unix seconds)
//   r1_run_finished                                  1 once the run has ended, else 0
//   r1_run_succeeded                                 1 once the run has ended with every stage done
//   r1_stage_state{stage, type, state}               1 for the stage's state, 0 for the others;
//                                                    state: pending | running | succeeded |
//                                                    failed | skipped | cancelled
//   r1_stage_attempt{stage}                          the attempt running or last run (1-based;
//                                                    0: not started in this run)
//   r1_stage_step{stage}                             steps done in the current attempt
//   r1_stage_total_steps{stage}                      the stage's steps (0 while unknown)
//   r1_stage_eta_seconds{stage}                      estimated seconds left (absent while unknown)
//   r1_stage_start_time_seconds{stage}               when the current attempt started (Unix
//                                                    seconds; absent before the stage starts)
//   r1_stage_metric{stage, name}                     the latest step's metrics (reward_mean,
//                                                    loss, kl, ...), one series per metric name
//   r1_workers                                       workers registered (dead ones included)
//   r1_worker_up{worker, rank, host, roles}          1 while the worker is alive, 0 once dead
//   r1_worker_heartbeat_age_seconds{worker, rank, host}  seconds since its last heartbeat
// Series of one family keep the order of the status: stages in DAG order, workers in registration
// order; metrics of a stage by name.
#ifndef R1_SCHEDULER_PROMETHEUS_TEXT_H_
#define R1_SCHEDULER_PROMETHEUS_TEXT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "r1/v1/scheduler.pb.h"
#include "scheduler/worker_registry.h"

namespace r1 {

// The Content-Type of the text format.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// `raw` as a valid metric name, [a-zA-Z_:][a-zA-Z0-9_:]*: every other character becomes '_',
// a leading digit gets a '_' in front, "" becomes "_".
std::string PrometheusMetricName(absl::string_view raw);
// `raw` as a valid label name, [a-zA-Z_][a-zA-Z0-9_]* (':' is not allowed in label names).
std::string PrometheusLabelName(absl::string_view raw);
// A label value escaped for the text format: '\' -> "\\", '"' -> "\"", newline -> "\n".
std::string PrometheusEscapeLabelValue(absl::string_view raw);
// A sample value: the shortest text that reads back exactly; NaN, +Inf, -Inf as the format wants.
std::string PrometheusValue(double v);

using PrometheusLabels = std::vector<std::pair<std::string, std::string>>;

// Builds a text exposition family by family. Names are sanitised (PrometheusMetricName,
// PrometheusLabelName), label values escaped. Not thread-safe.
class PrometheusWriter {
 public:
  // Starts a family: its "# HELP" (backslashes and newlines escaped) and "# TYPE" lines.
  // type: gauge | counter | untyped.
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);
  // One sample line of the current family: name{labels} value.
  void Sample(absl::string_view name, const PrometheusLabels& labels, double value);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The whole exposition for one scrape (see the list above). `workers`: the registry's snapshot;
// `now`: the time heartbeat ages are measured to; `run_start`: r1_run_start_time_seconds.
std::string RenderRunMetrics(const v1::RunStatus& status, const std::vector<WorkerInfo>& workers,
                             absl::Time now, absl::Time run_start);

}  // namespace r1

#endif  // R1_SCHEDULER_PROMETHEUS_TEXT_H_
