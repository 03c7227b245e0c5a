// The run's live status for the status RPC: every stage's state, step, attempt, latest metrics
// and ETA, fed by the executor as stages move, read by the Scheduler service (GetStatus,
// WatchStatus). Stage states use v1::StageState.
#ifndef R1_SCHEDULER_STATUS_BOARD_H_
#define R1_SCHEDULER_STATUS_BOARD_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "r1/v1/scheduler.pb.h"
#include "scheduler/worker_registry.h"

namespace r1 {

// A stage state as users and metrics labels read it: "pending", "running", "succeeded", "failed",
// "skipped", "cancelled"; "unknown" for STAGE_STATE_UNSPECIFIED and values this build does not
// know (the journal's StageStateName, pipeline/journal.h, names its own states the same way).
absl::string_view StageStateName(v1::StageState state);

struct StageRef {
  std::string name, type;   // type: "sft", "grpo", ... (display only)
  int64_t total_steps = 0;  // 0 when unknown until the stage reports it
};

// Thread-safety: every method may be called from any thread (one internal mutex). Calls naming a
// stage that was not given to the constructor add it at the end (nothing is dropped).
class StatusBoard {
 public:
  // Every stage starts PENDING, attempt 0, eta unknown (-1).
  StatusBoard(std::string run_dir, std::string run_name, std::vector<StageRef> stages_in_dag_order);

  // The stage (re)starts: RUNNING, `attempt` (1-based), started_at = now, step 0, metrics and ETA
  // cleared. The error of a failed previous attempt is kept (it says why this is a retry).
  void StageRunning(const std::string& stage, int32_t attempt);
  // After a step: `step` steps done of `total_steps` (0 = keep the known total); `metrics`
  // replaces the latest metrics. ETA = seconds per step since the stage's first report this
  // attempt (from started_at while there is only one report) times the steps left; -1 unknown.
  void StageProgress(const std::string& stage, int64_t step, int64_t total_steps,
                     const std::map<std::string, double>& metrics);
  // SUCCEEDED (also for stages skipped on resume); error cleared, ETA 0.
  void StageSucceeded(const std::string& stage);
  // `final`: FAILED with `error`. !final: a retry follows — the state stays RUNNING, the error is
  // kept for display.
  void StageFailed(const std::string& stage, const std::string& error, bool final);
  void StageCancelled(const std::string& stage);
  // The run ended: finished = true, succeeded as given. WaitForChange returns at once afterwards.
  void Finish(bool succeeded);

  // The run as a RunStatus: stages in DAG order, then `workers` (registration order).
  v1::RunStatus Snapshot(const std::vector<WorkerInfo>& workers) const;
  bool finished() const;

  // Bumps on every change (starts at 1).
  int64_t version() const;
  // Blocks until version() > since, the run finished, or `timeout` passes; returns version().
  int64_t WaitForChange(int64_t since, absl::Duration timeout) const;

  // Tests: the clock used for started_at and ETAs (default absl::Now).
  void set_clock(std::function<absl::Time()> clock);

 private:
  struct Stage {
    StageRef ref;
    v1::StageState state = v1::STAGE_STATE_PENDING;
    int64_t step = 0;
    int32_t attempt = 0;
    std::map<std::string, double> metrics;
    double eta_seconds = -1;
    std::string error;
    absl::Time started_at = absl::InfinitePast();  // InfinitePast: not started
    // The first progress report of this attempt (the ETA's baseline).
    bool have_first = false;
    int64_t first_step = 0;
    absl::Time first_at;
  };

  absl::Time Now() const;
  Stage& FindLocked(const std::string& name);
  void ChangedLocked();

  const std::string run_dir_, run_name_;
  std::function<absl::Time()> clock_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Stage> stages_;
  int64_t version_ = 1;
  bool finished_ = false, succeeded_ = false;
};

}  // namespace r1

#endif  // R1_SCHEDULER_STATUS_BOARD_H_
