// The run's live status (see status_board.h).
#include "scheduler/status_board.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace r1 {

absl::string_view StageStateName(v1::StageState state) {
  switch (state) {
    case v1::STAGE_STATE_PENDING:
      return "pending";
    case v1::STAGE_STATE_RUNNING:
      return "running";
    case v1::STAGE_STATE_SUCCEEDED:
      return "succeeded";
    case v1::STAGE_STATE_FAILED:
      return "failed";
    case v1::STAGE_STATE_SKIPPED:
      return "skipped";
    case v1::STAGE_STATE_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

StatusBoard::StatusBoard(std::string run_dir, std::string run_name,
                         std::vector<StageRef> stages_in_dag_order)
    : run_dir_(std::move(run_dir)), run_name_(std::move(run_name)) {
  for (StageRef& ref : stages_in_dag_order) {
    Stage s;
    s.ref = std::move(ref);
    stages_.push_back(std::move(s));
  }
}

void StatusBoard::set_clock(std::function<absl::Time()> clock) {
  std::lock_guard<std::mutex> lock(mu_);
  clock_ = std::move(clock);
}

absl::Time StatusBoard::Now() const { return clock_ ? clock_() : absl::Now(); }

StatusBoard::Stage& StatusBoard::FindLocked(const std::string& name) {
  for (Stage& s : stages_) {
    if (s.ref.name == name) return s;
  }
  Stage s;
  s.ref.name = name;
  stages_.push_back(std::move(s));
  return stages_.back();
}

void StatusBoard::ChangedLocked() {
  ++version_;
  cv_.notify_all();
}

void StatusBoard::StageRunning(const std::string& stage, int32_t attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  Stage& s = FindLocked(stage);
  s.state = v1::STAGE_STATE_RUNNING;
  s.attempt = attempt;
  s.started_at = Now();
  s.step = 0;
  s.metrics.clear();
  s.eta_seconds = -1;
  s.have_first = false;
  ChangedLocked();
}

void StatusBoard::StageProgress(const std::string& stage, int64_t step, int64_t total_steps,
                                const std::map<std::string, double>& metrics) {
  std::lock_guard<std::mutex> lock(mu_);
  Stage& s = FindLocked(stage);
  const absl::Time now = Now();
  if (s.state == v1::STAGE_STATE_PENDING) {
    s.state = v1::STAGE_STATE_RUNNING;
    s.started_at = now;
  }
  s.step = step;
  if (total_steps > 0) s.ref.total_steps = total_steps;
  s.metrics = metrics;
  // Seconds per step: over the reports of this attempt, or the first step's time from the start.
  double seconds_per_step = -1;
  if (!s.have_first) {
    s.have_first = true;
    s.first_step = step;
    s.first_at = now;
    if (s.started_at != absl::InfinitePast()) {
      seconds_per_step = absl::ToDoubleSeconds(now - s.started_at);
    }
  } else if (step > s.first_step) {
    seconds_per_step =
        absl::ToDoubleSeconds(now - s.first_at) / static_cast<double>(step - s.first_step);
  }
  const int64_t left = s.ref.total_steps - step;
  if (s.ref.total_steps <= 0 || seconds_per_step < 0) {
    s.eta_seconds = -1;
  } else {
    s.eta_seconds = left > 0 ? seconds_per_step * static_cast<double>(left) : 0.0;
  }
  ChangedLocked();
}

void StatusBoard::StageSucceeded(const std::string& stage) {
  std::lock_guard<std::mutex> lock(mu_);
  Stage& s = FindLocked(stage);
  s.state = v1::STAGE_STATE_SUCCEEDED;
  s.error.clear();
  s.eta_seconds = 0;
  if (s.ref.total_steps > 0 && s.step < s.ref.total_steps && s.attempt == 0) {
    s.step = s.ref.total_steps;  // skipped on resume: it finished in an earlier run
  }
  ChangedLocked();
}

void StatusBoard::StageFailed(const std::string& stage, const std::string& error, bool final) {
  std::lock_guard<std::mutex> lock(mu_);
  Stage& s = FindLocked(stage);
  s.error = error;
  s.eta_seconds = -1;
  s.state = final ? v1::STAGE_STATE_FAILED : v1::STAGE_STATE_RUNNING;
  ChangedLocked();
}

void StatusBoard::StageCancelled(const std::string& stage) {
  std::lock_guard<std::mutex> lock(mu_);
  Stage& s = FindLocked(stage);
  s.state = v1::STAGE_STATE_CANCELLED;
  s.eta_seconds = -1;
  ChangedLocked();
}

void StatusBoard::Finish(bool succeeded) {
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
  succeeded_ = succeeded;
  ChangedLocked();
}

v1::RunStatus StatusBoard::Snapshot(const std::vector<WorkerInfo>& workers) const {
  v1::RunStatus out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.set_run_dir(run_dir_);
    out.set_run_name(run_name_);
    out.set_finished(finished_);
    out.set_succeeded(succeeded_);
    for (const Stage& s : stages_) {
      v1::StageStatus* st = out.add_stages();
      st->set_name(s.ref.name);
      st->set_type(s.ref.type);
      st->set_state(s.state);
      st->set_step(s.step);
      st->set_total_steps(s.ref.total_steps);
      st->set_attempt(s.attempt);
      for (const auto& [name, value] : s.metrics) {
        v1::Metric* m = st->add_latest_metrics();
        m->set_name(name);
        m->set_value(value);
      }
      st->set_eta_seconds(s.eta_seconds);
      st->set_error(s.error);
      st->set_started_at_unix(s.started_at == absl::InfinitePast()
                                  ? 0.0
                                  : absl::ToDoubleSeconds(s.started_at - absl::UnixEpoch()));
    }
  }
  for (const WorkerInfo& w : workers) {
    v1::WorkerStatus* ws = out.add_workers();
    ws->set_worker_id(w.id);
    ws->set_host(w.host);
    ws->set_address(w.address);
    for (const std::string& role : w.roles) ws->add_roles(role);
    ws->set_last_heartbeat_unix(absl::ToDoubleSeconds(w.last_heartbeat - absl::UnixEpoch()));
    ws->set_alive(w.alive);
  }
  return out;
}

bool StatusBoard::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

int64_t StatusBoard::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

int64_t StatusBoard::WaitForChange(int64_t since, absl::Duration timeout) const {
  const auto deadline = std::chrono::steady_clock::now() +
                        absl::ToChronoNanoseconds(std::max(timeout, absl::ZeroDuration()));
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return version_ > since || finished_; });
  return version_;
}

}  // namespace r1
