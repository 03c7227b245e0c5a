// Prometheus text exposition of the run's status (see prometheus_text.h).
#include "scheduler/prometheus_text.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/str_util.h"
#include "scheduler/status_board.h"

namespace r1 {
namespace {

std::string SanitizedName(absl::string_view raw, bool colon_allowed) {
  std::string out;
  out.reserve(raw.size() + 1);
  for (char c : raw) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                    (colon_allowed && c == ':');
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || absl::ascii_isdigit(static_cast<unsigned char>(out[0]))) out.insert(0, "_");
  return out;
}

constexpr v1::StageState kStates[] = {v1::STAGE_STATE_PENDING,   v1::STAGE_STATE_RUNNING,
                                      v1::STAGE_STATE_SUCCEEDED, v1::STAGE_STATE_FAILED,
                                      v1::STAGE_STATE_SKIPPED,   v1::STAGE_STATE_CANCELLED};

double UnixSeconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

}  // namespace

std::string PrometheusMetricName(absl::string_view raw) { return SanitizedName(raw, true); }

std::string PrometheusLabelName(absl::string_view raw) { return SanitizedName(raw, false); }

std::string PrometheusEscapeLabelValue(absl::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PrometheusValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers (steps, counts, whole seconds) without an exponent: "900", not "9e+02".
  if (std::fabs(v) < 1e15 && v == std::trunc(v)) return absl::StrFormat("%.0f", v);
  return RoundTripDouble(v);
}

void PrometheusWriter::Family(absl::string_view name, absl::string_view type,
                              absl::string_view help) {
  std::string escaped_help;
  for (char c : help) {
    if (c == '\\') {
      escaped_help += "\\\\";
    } else if (c == '\n') {
      escaped_help += "\\n";
    } else {
      escaped_help.push_back(c);
    }
  }
  const std::string metric = PrometheusMetricName(name);
  absl::StrAppend(&text_, "# HELP ", metric, " ", escaped_help, "\n# TYPE ", metric, " ", type,
                  "\n");
}

void PrometheusWriter::Sample(absl::string_view name, const PrometheusLabels& labels,
                              double value) {
  absl::StrAppend(&text_, PrometheusMetricName(name));
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&text_, i == 0 ? "" : ",", PrometheusLabelName(labels[i].first), "=\"",
                      PrometheusEscapeLabelValue(labels[i].second), "\"");
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", PrometheusValue(value), "\n");
}

std::string RenderRunMetrics(const v1::RunStatus& status, const std::vector<WorkerInfo>& workers,
                             absl::Time now, absl::Time run_start) {
  PrometheusWriter w;
  w.Family("r1_run_info", "gauge", "The run's name and directory (value always 1).");
  w.Sample("r1_run_info", {{"run", status.run_name()}, {"run_dir", status.run_dir()}}, 1);
  w.Family("r1_run_start_time_seconds", "gauge", "When the scheduler started, Unix seconds.");
  w.Sample("r1_run_start_time_seconds", {}, UnixSeconds(run_start));
  w.Family("r1_run_finished", "gauge", "1 once the run has ended, else 0.");
  w.Sample("r1_run_finished", {}, status.finished() ? 1 : 0);
  w.Family("r1_run_succeeded", "gauge", "1 once the run has ended with every stage succeeded.");
  w.Sample("r1_run_succeeded", {}, status.finished() && status.succeeded() ? 1 : 0);

  const auto& stages = status.stages();
  w.Family("r1_stage_state", "gauge",
           "1 for the stage's current state, 0 for the others (pending, running, succeeded, "
           "failed, skipped, cancelled).");
  for (const v1::StageStatus& s : stages) {
    for (v1::StageState state : kStates) {
      w.Sample(
          "r1_stage_state",
          {{"stage", s.name()}, {"type", s.type()}, {"state", std::string(StageStateName(state))}},
          s.state() == state ? 1 : 0);
    }
  }
  w.Family("r1_stage_attempt", "gauge",
           "The stage's current or last attempt, 1-based (0: not started in this run).");
  for (const v1::StageStatus& s : stages)
    w.Sample("r1_stage_attempt", {{"stage", s.name()}}, s.attempt());
  w.Family("r1_stage_step", "gauge", "Steps the stage's current attempt has done.");
  for (const v1::StageStatus& s : stages)
    w.Sample("r1_stage_step", {{"stage", s.name()}}, s.step());
  w.Family("r1_stage_total_steps", "gauge", "The stage's steps (0 while unknown).");
  for (const v1::StageStatus& s : stages) {
    w.Sample("r1_stage_total_steps", {{"stage", s.name()}}, s.total_steps());
  }
  w.Family("r1_stage_eta_seconds", "gauge",
           "Estimated seconds until the stage ends (no sample while unknown).");
  for (const v1::StageStatus& s : stages) {
    if (s.eta_seconds() >= 0)
      w.Sample("r1_stage_eta_seconds", {{"stage", s.name()}}, s.eta_seconds());
  }
  w.Family("r1_stage_start_time_seconds", "gauge",
           "When the stage's current attempt started, Unix seconds (no sample before it starts).");
  for (const v1::StageStatus& s : stages) {
    if (s.started_at_unix() > 0) {
      w.Sample("r1_stage_start_time_seconds", {{"stage", s.name()}}, s.started_at_unix());
    }
  }
  w.Family("r1_stage_metric", "gauge", "The stage's latest step metrics, by metric name.");
  for (const v1::StageStatus& s : stages) {
    for (const v1::Metric& m : s.latest_metrics()) {
      w.Sample("r1_stage_metric", {{"stage", s.name()}, {"name", m.name()}}, m.value());
    }
  }

  w.Family("r1_workers", "gauge", "Workers registered with the scheduler, dead ones included.");
  w.Sample("r1_workers", {}, static_cast<double>(workers.size()));
  auto rank = [](const WorkerInfo& info) {
    return info.mpi_rank >= 0 ? absl::StrCat(info.mpi_rank) : std::string();
  };
  w.Family("r1_worker_up", "gauge", "1 while the worker is alive, 0 once it was declared dead.");
  for (const WorkerInfo& info : workers) {
    w.Sample("r1_worker_up",
             {{"worker", info.id},
              {"rank", rank(info)},
              {"host", info.host},
              {"roles", absl::StrJoin(info.roles, ",")}},
             info.alive ? 1 : 0);
  }
  w.Family("r1_worker_heartbeat_age_seconds", "gauge",
           "Seconds since the worker's last heartbeat (or its registration).");
  for (const WorkerInfo& info : workers) {
    w.Sample("r1_worker_heartbeat_age_seconds",
             {{"worker", info.id}, {"rank", rank(info)}, {"host", info.host}},
             absl::ToDoubleSeconds(now - info.last_heartbeat));
  }
  return w.text();
}

}  // namespace r1
