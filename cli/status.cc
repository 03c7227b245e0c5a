// `r1 status --run-dir DIR [--json] [--watch]`: the state of a run read from its run directory
// (run.yaml, journal, per-stage metrics.jsonl): every stage's state, step/total, attempts, latest
// metrics and ETA. Works while `r1 run` is writing, and after it ended or crashed.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_util.h"
#include "cli/args.h"
#include "cli/command.h"
#include "nlohmann/json.hpp"
#include "pipeline/config.h"
#include "pipeline/dag.h"
#include "pipeline/journal.h"
#include "pipeline/metrics.h"
#include "pipeline/run_dir.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 status --run-dir DIR [--json] [--watch] [--interval SECONDS]

Shows a run's state from its run directory: every stage in DAG order with its state (pending,
running, succeeded, failed), steps done / total, attempts, the latest metrics and an ETA.

  --run-dir DIR       the run directory (RUN_DIR)
  --json              one JSON object instead of a table
  --watch             print again every --interval seconds (default 5) until every stage
                      succeeded or one failed

Exit status: 0 when the run directory could be read, 1 when it could not, 2 usage.
(`--scheduler HOST:PORT`, the status RPC of a multi-process run, is not available yet.))";

// Steps a stage will take when the config says so directly; 0 when it depends on the data size.
int64_t PlannedSteps(const StageConfig& stage) {
  switch (stage.type) {
    case StageType::kGrpo:
      return stage.grpo.steps;
    case StageType::kPretrain:
    case StageType::kSft:
    case StageType::kRewardModel:
      return stage.train.steps;
    default:
      return 0;
  }
}

absl::StatusOr<nlohmann::json> Snapshot(const std::string& dir) {
  auto run_dir = RunDir::Open(dir);
  if (!run_dir.ok()) return run_dir.status();
  auto yaml = run_dir->ReadRunYaml();
  if (!yaml.ok()) return yaml.status();
  auto config = ParseConfig(*yaml, ConfigParseOptions{"", run_dir->RunYamlPath()});
  if (!config.ok()) return config.status();
  auto dag = StageDag::Build(config->stages);
  if (!dag.ok()) return dag.status();
  auto replay = ReplayJournal(run_dir->JournalPath());
  if (!replay.ok()) return replay.status();
  nlohmann::json stages = nlohmann::json::array();
  bool all_done = true, failed = false;
  for (const std::string& name : dag->TopologicalOrder()) {
    const StageConfig& stage = *config->FindStage(name);
    StageStatus status;
    auto it = replay->stages.find(name);
    if (it != replay->stages.end()) status = it->second;
    nlohmann::json s = {{"name", name},
                        {"type", std::string(StageTypeName(stage.type))},
                        {"state", std::string(StageStateName(status.state))},
                        {"attempt", status.attempt}};
    if (!status.error.empty()) s["error"] = status.error;
    all_done &= status.state == StageState::kSucceeded;
    failed |= status.state == StageState::kFailed;
    auto records = ReadJsonlRecords(run_dir->MetricsPath(name));
    const int64_t total = PlannedSteps(stage);
    if (total > 0) s["total_steps"] = total;
    if (records.ok() && !records->empty()) {
      const nlohmann::json& last = records->back();
      const int64_t step = last.value("step", int64_t{0});
      s["step"] = step;
      nlohmann::json metrics = last;
      metrics.erase("step");
      metrics.erase("time_ms");
      s["metrics"] = metrics;
      if (status.state == StageState::kRunning && total > step && records->size() >= 2) {
        const nlohmann::json& first = records->front();
        const double ms = last.value("time_ms", 0.0) - first.value("time_ms", 0.0);
        const double steps = static_cast<double>(step - first.value("step", int64_t{0}));
        if (steps > 0) s["eta_seconds"] = ms / 1000.0 / steps * static_cast<double>(total - step);
      }
    }
    stages.push_back(s);
  }
  return nlohmann::json{{"run_dir", dir},
                        {"run_name", config->run.name},
                        {"stages", stages},
                        {"finished", all_done || failed},
                        {"succeeded", all_done}};
}

void PrintTable(const nlohmann::json& snap) {
  std::printf("run %s (%s)\n", snap["run_name"].get<std::string>().c_str(),
              snap["run_dir"].get<std::string>().c_str());
  std::printf("  %-24s %-18s %-10s %-12s %-4s %s\n", "stage", "type", "state", "step", "try",
              "latest");
  for (const auto& s : snap["stages"]) {
    std::string step = s.contains("step") ? std::to_string(s["step"].get<int64_t>()) : "-";
    if (s.contains("total_steps")) absl::StrAppend(&step, "/", s["total_steps"].get<int64_t>());
    std::string latest;
    if (s.contains("metrics")) {
      for (const char* key : {"loss", "reward_mean", "accuracy", "format_rate", "kept"}) {
        if (s["metrics"].contains(key) && s["metrics"][key].is_number()) {
          absl::StrAppend(&latest, key, "=",
                          absl::StrFormat("%.4g", s["metrics"][key].get<double>()), " ");
        }
      }
    }
    if (s.contains("eta_seconds")) {
      absl::StrAppend(&latest, absl::StrFormat("eta=%.0fs", s["eta_seconds"].get<double>()));
    }
    if (s.contains("error")) absl::StrAppend(&latest, "error: ", s["error"].get<std::string>());
    std::printf("  %-24s %-18s %-10s %-12s %-4d %s\n", s["name"].get<std::string>().c_str(),
                s["type"].get<std::string>().c_str(), s["state"].get<std::string>().c_str(),
                step.c_str(), s["attempt"].get<int>(), latest.c_str());
  }
}

int RunStatus(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"run-dir", "interval", "scheduler"};
  spec.flag_options = {"json", "watch"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok() || !args->positional().empty() || !args->Has("run-dir")) {
    std::fprintf(
        stderr, "r1 status: %s\n%s\n",
        args.ok() ? "--run-dir DIR is required" : std::string(args.status().message()).c_str(),
        kUsage);
    return 2;
  }
  absl::StatusOr<double> interval = args->GetDouble("interval", 5.0);
  if (!interval.ok() || *interval <= 0) {
    std::fprintf(stderr, "r1 status: --interval must be a positive number of seconds\n");
    return 2;
  }
  while (true) {
    absl::StatusOr<nlohmann::json> snap = Snapshot(*args->Get("run-dir"));
    if (!snap.ok()) {
      std::fprintf(stderr, "r1 status: %s\n", std::string(snap.status().message()).c_str());
      return 1;
    }
    if (args->Flag("json")) {
      std::printf("%s\n", snap->dump().c_str());
    } else {
      PrintTable(*snap);
    }
    std::fflush(stdout);
    if (!args->Flag("watch") || (*snap)["finished"].get<bool>()) return 0;
    ::usleep(static_cast<useconds_t>(*interval * 1e6));
  }
}

R1_REGISTER_COMMAND(Command{"status", "show a run's stages, steps, metrics and ETA", kUsage,
                            RunStatus});

}  // namespace
}  // namespace r1::cli
