// Runs a pipeline's stage DAG to the end on its worker groups: creates or reopens the run
// directory, journals every stage transition, skips stages that already succeeded (resume),
// retries a failing stage from its newest checkpoint, and writes RUN_DIR/report.json with every
// eval's numbers. A stage starts once every stage it depends on succeeded and a worker group is
// free, in topological order among the ready ones; with several groups, stages that do not
// depend on each other run at the same time, each on its own group (one thread per attempt).
#ifndef R1_SCHEDULER_PIPELINE_RUNNER_H_
#define R1_SCHEDULER_PIPELINE_RUNNER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/config.h"
#include "stages/stage.h"
#include "worker_api/worker_client.h"

namespace r1 {

// What happened to a stage, for PipelineRunOptions::on_stage_event.
enum class StageEvent { kSkipped, kRunning, kSucceeded, kFailed, kCancelled };

struct PipelineRunOptions {
  std::string run_dir;  // overrides the config's run directory when non-empty
  bool resume = false;  // continue an existing run directory (its run.yaml must match)
  // Called with one line of human-readable progress at a time (stage starts, steps, results).
  std::function<void(const std::string& line)> log;
  // Called after every step of a running stage (for the status RPC); may be empty.
  std::function<void(const std::string& stage, const StageProgress&)> on_progress;
  // Called on every stage transition (for the status RPC); may be empty. `error` is set for
  // kFailed; `final` says whether no further attempt follows.
  std::function<void(const std::string& stage, StageEvent event, int32_t attempt,
                     const std::string& error, bool final)>
      on_stage_event;
  // Called once the run directory exists (created or reopened), before any stage; an error
  // ends the run. May be empty.
  std::function<absl::Status(const std::string& run_dir)> on_run_dir_ready;
  // Called before a stage attempt starts while no other attempt runs: returns the worker groups
  // (one WorkerClient each) to run stages on, after relaunching workers that died. While attempts
  // run, new ones go to the groups returned last that are free. Empty: one group, the `worker`
  // given to RunPipeline. An error fails the attempt like a stage error (it is retried), except a
  // configuration error (scheduler/configuration_error.h), which ends the run as it is.
  std::function<absl::StatusOr<std::vector<WorkerClient*>>()> acquire_workers;
};

// One eval stage's headline numbers, for the final table.
struct EvalRow {
  std::string stage;
  std::string model;                     // the evaluated stage ("stage:sft") or path
  std::map<std::string, double> values;  // pass@1, maj@k, format_rate, response_length_mean, ...
};

struct PipelineReport {
  std::string run_dir;
  std::map<std::string, StageResult> results;  // every stage that succeeded (this run or before)
  std::vector<EvalRow> evals;                  // in topological order
};

// Runs every stage of `config`. FailedPrecondition when a stage failed all its attempts (the
// message names the stage and the last error); Cancelled when a stage attempt ended Cancelled
// (the run was cancelled: not retried, its checkpoints kept for --resume); errors of the run
// directory or journal as they come. InvalidArgument stage errors are not retried either; a
// configuration error (IsConfigurationError: a worker cannot serve the configuration) is returned
// unchanged at once, without a retry.
// A stage that fails all its attempts stops new stages from starting; those running finish first.
// Thread-safety: one Run at a time per worker; `options`' callbacks may be called from several
// threads at once (log lines are serialized).
absl::StatusOr<PipelineReport> RunPipeline(const PipelineConfig& config, WorkerClient* worker,
                                           const PipelineRunOptions& options);

// The eval table as fixed-width text (one row per eval stage).
std::string FormatEvalTable(const std::vector<EvalRow>& evals);

}  // namespace r1

#endif  // R1_SCHEDULER_PIPELINE_RUNNER_H_
