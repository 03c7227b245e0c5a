// The pipeline executor (see pipeline_runner.h).
#include "scheduler/pipeline_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "pipeline/dag.h"
#include "pipeline/dataset_loader.h"
#include "pipeline/journal.h"
#include "pipeline/run_dir.h"
#include "scheduler/configuration_error.h"

namespace r1 {
namespace {

uint64_t StageSeed(uint64_t run_seed, const std::string& stage) {
  uint64_t h = 1469598103934665603ull ^ run_seed;  // FNV-1a over the name, keyed by the run seed
  for (unsigned char c : stage) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string ModelDirOf(const ModelRef& ref, const PipelineConfig& config, const RunDir& run_dir) {
  switch (ref.kind) {
    case ModelRef::Kind::kBase:
      return config.model.path;
    case ModelRef::Kind::kPath:
      return ref.value;
    case ModelRef::Kind::kStage:
      return run_dir.OutputDir(ref.value);
  }
  return "";
}

// Whether a dataset holds non-reasoning (direct-answer) data, for rejection sampling's mix.
bool IsNonReasoning(const DatasetConfig& d) {
  return d.synthetic.has_value() ? d.synthetic->kind == "non_reasoning" : d.format == "chat";
}

class Executor {
 public:
  Executor(const PipelineConfig& config, WorkerClient* worker, const PipelineRunOptions& options,
           RunDir run_dir)
      : config_(config), worker_(worker), options_(options), run_dir_(std::move(run_dir)) {}

  absl::StatusOr<PipelineReport> Run() {
    R1_ASSIGN_OR_RETURN(StageDag dag, StageDag::Build(config_.stages));
    JournalReplay replay;
    R1_ASSIGN_OR_RETURN(journal_, Journal::Open(run_dir_.JournalPath(), &replay));
    if (replay.torn_tail) {
      Log(absl::StrCat("journal: ignored a torn last line (line ", replay.torn_tail_line,
                       "), left by a crash"));
    }
    PipelineReport report;
    report.run_dir = run_dir_.root();
    for (const std::string& name : dag.TopologicalOrder()) {
      const StageConfig& stage = *config_.FindStage(name);
      auto stages = journal_->Stages();
      auto it = stages.find(name);
      if (it != stages.end() && it->second.state == StageState::kSucceeded) {
        Log(absl::StrCat("[", name, "] already succeeded; skipped"));
        Event(name, StageEvent::kSkipped, it->second.attempt, "", true);
        report.results[name] = StageResult{run_dir_.OutputDir(name), {}};
      } else {
        const int32_t previous = it == stages.end() ? 0 : it->second.attempt;
        R1_ASSIGN_OR_RETURN(StageResult result, RunWithRetries(stage, previous));
        report.results[name] = std::move(result);
      }
      if (stage.type == StageType::kEval) {
        R1_ASSIGN_OR_RETURN(EvalRow row, ReadEvalRow(stage));
        report.evals.push_back(std::move(row));
      }
    }
    nlohmann::json evals = nlohmann::json::array();
    for (const EvalRow& row : report.evals) {
      evals.push_back({{"stage", row.stage}, {"model", row.model}, {"values", row.values}});
    }
    nlohmann::json out = {{"run_dir", run_dir_.root()}, {"evals", evals}};
    R1_RETURN_IF_ERROR(
        WriteFileAtomic(JoinPath(run_dir_.root(), "report.json"), out.dump(2) + "\n"));
    return report;
  }

 private:
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  void Event(const std::string& stage, StageEvent event, int32_t attempt, const std::string& error,
             bool final) const {
    if (options_.on_stage_event) options_.on_stage_event(stage, event, attempt, error, final);
  }

  absl::StatusOr<StageResult> RunWithRetries(const StageConfig& stage, int32_t previous_attempts) {
    const int32_t max_attempts = std::max(1, config_.cluster.max_stage_attempts);
    absl::Status last;
    for (int32_t n = 1; n <= max_attempts; ++n) {
      const int32_t attempt = previous_attempts + n;
      R1_RETURN_IF_ERROR(journal_->Append({stage.name, JournalEvent::kRunning, attempt}));
      Log(absl::StrCat("[", stage.name, "] ", StageTypeName(stage.type), " started (attempt ",
                       attempt, ")"));
      Event(stage.name, StageEvent::kRunning, attempt, "", false);
      const auto start = std::chrono::steady_clock::now();
      absl::StatusOr<StageResult> result = absl::UnknownError("no worker");
      absl::StatusOr<WorkerClient*> worker = worker_;
      if (options_.acquire_worker) worker = options_.acquire_worker();
      if (!worker.ok()) {
        // A configuration error keeps its payload and wording: it ends the run as it is.
        result = IsConfigurationError(worker.status())
                     ? worker.status()
                     : absl::Status(worker.status().code(),
                                    absl::StrCat("workers: ", worker.status().message()));
      } else {
        result = RunOnce(stage, *worker);
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (result.ok()) {
        R1_RETURN_IF_ERROR(journal_->Append({stage.name, JournalEvent::kSucceeded, attempt}));
        std::string summary;
        for (const auto& [k, v] : result->summary) {
          if (k == "loss" || k == "pass@1" || k == "maj@k" || k == "kept" || k == "reward_mean" ||
              k == "reward_last_quarter" || k == "format_rate" || k == "accuracy") {
            absl::StrAppend(&summary, " ", k, "=", absl::StrFormat("%.4g", v));
          }
        }
        Log(absl::StrFormat("[%s] succeeded in %.1fs:%s", stage.name, seconds, summary));
        Event(stage.name, StageEvent::kSucceeded, attempt, "", true);
        return result;
      }
      last = result.status();
      JournalRecord failed{stage.name, JournalEvent::kFailed, attempt};
      failed.error = std::string(last.message());
      R1_RETURN_IF_ERROR(journal_->Append(failed));
      Log(absl::StrCat("[", stage.name, "] attempt ", attempt, " failed: ", last.message()));
      if (absl::IsCancelled(last)) {
        Event(stage.name, StageEvent::kCancelled, attempt, std::string(last.message()), true);
        return absl::CancelledError(absl::StrCat("stage ", stage.name, " cancelled (",
                                                 last.message(),
                                                 "); continue with r1 run --resume"));
      }
      if (IsConfigurationError(last)) {
        Event(stage.name, StageEvent::kFailed, attempt, std::string(last.message()), true);
        return last;
      }
      // Bad input: retrying cannot help.
      const bool final = absl::IsInvalidArgument(last) || n == max_attempts;
      Event(stage.name, StageEvent::kFailed, attempt, std::string(last.message()), final);
      if (final) break;
    }
    // The last attempt's code (Unavailable, DeadlineExceeded, InvalidArgument...) is kept, so
    // callers can tell a dead worker from bad input after the retries too.
    return absl::Status(last.code(),
                        absl::StrCat("stage ", stage.name, " failed: ", last.message()));
  }

  absl::StatusOr<StageResult> RunOnce(const StageConfig& stage, WorkerClient* worker) {
    StageContext context;
    context.config = &config_;
    context.stage = &stage;
    context.run_dir = &run_dir_;
    context.worker = worker;
    context.seed = StageSeed(config_.run.seed, stage.name);
    context.model_dir = ModelDirOf(stage.inputs.model, config_, run_dir_);
    for (const DatasetRef& ref : stage.inputs.datasets) {
      LoadedDataset data;
      bool non_reasoning = false;
      if (ref.kind == DatasetRef::Kind::kStage) {
        R1_ASSIGN_OR_RETURN(
            data, LoadStageDataset(JoinPath(run_dir_.OutputDir(ref.value), "data.jsonl")));
      } else {
        const DatasetConfig* d = config_.FindDataset(ref.value);
        if (d == nullptr)
          return absl::InvalidArgumentError(absl::StrCat("unknown dataset ", ref.value));
        R1_ASSIGN_OR_RETURN(data, LoadDataset(*d));
        non_reasoning = IsNonReasoning(*d);
        for (Example& e : data.examples) e.reasoning = !non_reasoning;
      }
      auto& target = non_reasoning && stage.type == StageType::kRejectionSampling
                         ? context.non_reasoning
                         : context.examples;
      target.insert(target.end(), data.examples.begin(), data.examples.end());
      context.pairs.insert(context.pairs.end(), data.pairs.begin(), data.pairs.end());
    }
    const auto& rewards = stage.grpo.rewards;
    for (size_t i = 0; stage.type == StageType::kGrpo && i < rewards.size(); ++i) {
      if (rewards[i].name != "reward_model") continue;
      if (!rewards[i].model) continue;  // rejected by ValidateConfig
      const ModelRef& m = *rewards[i].model;
      context.reward_model_dirs[i] =
          m.kind == ModelRef::Kind::kStage ? run_dir_.OutputDir(m.value) : m.value;
    }
    double last_log = 0.0;
    const auto start = std::chrono::steady_clock::now();
    context.log = [&](const std::string& line) { Log(absl::StrCat("[", stage.name, "] ", line)); };
    context.on_progress = [&](const StageProgress& p) {
      if (options_.on_progress) options_.on_progress(stage.name, p);
      const double now =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (now - last_log < 5.0 && p.step != p.total_steps) return;
      last_log = now;
      std::string line = absl::StrFormat("[%s] step %d/%d", stage.name, p.step, p.total_steps);
      for (const char* key : {"loss", "reward_mean", "accuracy", "format_rate",
                              "response_length_mean", "grad_norm"}) {
        auto v = p.metrics.find(key);
        if (v != p.metrics.end())
          absl::StrAppend(&line, " ", key, "=", absl::StrFormat("%.4g", v->second));
      }
      if (p.step > 0 && p.total_steps > p.step) {
        absl::StrAppend(&line,
                        absl::StrFormat(" eta=%.0fs", now / p.step * (p.total_steps - p.step)));
      }
      Log(line);
    };
    return RunStage(context);
  }

  absl::StatusOr<EvalRow> ReadEvalRow(const StageConfig& stage) {
    const std::string path = JoinPath(run_dir_.OutputDir(stage.name), "eval.json");
    R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::DataLossError(absl::StrCat(path, ": not a JSON object"));
    }
    EvalRow row{stage.name, stage.inputs.model.ToString(), {}};
    for (const auto& [k, v] : j.items()) {
      if (v.is_number()) row.values[k] = v.get<double>();
    }
    // An eval over several tasks also reports each one: "pass@1/countdown", "maj@k/countdown".
    const nlohmann::json& tasks = j.contains("tasks") ? j["tasks"] : nlohmann::json();
    if (tasks.is_object() && tasks.size() > 1) {
      for (const auto& [task, values] : tasks.items()) {
        for (const char* key : {"pass@1", "maj@k"}) {
          if (values.is_object() && values.contains(key) && values[key].is_number())
            row.values[absl::StrCat(key, "/", task)] = values[key].get<double>();
        }
      }
    }
    return row;
  }

  const PipelineConfig& config_;
  WorkerClient* worker_;
  const PipelineRunOptions& options_;
  RunDir run_dir_;
  std::unique_ptr<Journal> journal_;
};

}  // namespace

absl::StatusOr<PipelineReport> RunPipeline(const PipelineConfig& config, WorkerClient* worker,
                                           const PipelineRunOptions& options) {
  const std::string root = options.run_dir.empty() ? ResolvedRunDir(config) : options.run_dir;
  absl::StatusOr<RunDir> run_dir =
      options.resume ? RunDir::Open(root) : RunDir::Create(root, ConfigToYaml(config));
  if (!run_dir.ok()) return run_dir.status();
  if (options.resume) {
    R1_ASSIGN_OR_RETURN(std::string yaml, run_dir->ReadRunYaml());
    if (yaml != ConfigToYaml(config)) {
      return absl::FailedPreconditionError(
          absl::StrCat(root, "/run.yaml differs from the config being resumed"));
    }
  }
  if (options.on_run_dir_ready) R1_RETURN_IF_ERROR(options.on_run_dir_ready(run_dir->root()));
  Executor executor(config, worker, options, *std::move(run_dir));
  return executor.Run();
}

std::string FormatEvalTable(const std::vector<EvalRow>& evals) {
  // Columns as wide as the longest stage and model names; a value the eval did not report
  // (format rate of an eval without reasoning prompts) prints as "-". An eval over several tasks
  // gets an indented line per task ("pass@1/<task>", "maj@k/<task>").
  constexpr absl::string_view kTaskPrefix = "pass@1/";
  int stage_width = 4, model_width = 5;
  for (const EvalRow& row : evals) {
    stage_width = std::max(stage_width, static_cast<int>(row.stage.size()));
    model_width = std::max(model_width, static_cast<int>(row.model.size()));
    for (const auto& [key, value] : row.values) {
      if (absl::StartsWith(key, kTaskPrefix)) {
        stage_width = std::max(stage_width, static_cast<int>(key.size() - kTaskPrefix.size() + 2));
      }
    }
  }
  std::string out = absl::StrFormat("%-*s  %-*s %8s %8s %8s %8s\n", stage_width, "eval",
                                    model_width, "model", "pass@1", "maj@k", "format", "length");
  auto cell = [](const EvalRow& row, const std::string& key, int decimals) -> std::string {
    auto it = row.values.find(key);
    if (it == row.values.end()) return absl::StrFormat(" %8s", "-");
    return absl::StrFormat(" %8.*f", decimals, it->second);
  };
  for (const EvalRow& row : evals) {
    absl::StrAppend(&out,
                    absl::StrFormat("%-*s  %-*s", stage_width, row.stage, model_width, row.model),
                    cell(row, "pass@1", 3), cell(row, "maj@k", 3), cell(row, "format_rate", 3),
                    cell(row, "response_length_mean", 1), "\n");
    for (const auto& [key, value] : row.values) {
      if (!absl::StartsWith(key, kTaskPrefix)) continue;
      const std::string task(key.substr(kTaskPrefix.size()));
      absl::StrAppend(&out,
                      absl::StrFormat("%-*s  %-*s", stage_width, "  " + task, model_width, ""),
                      cell(row, key, 3), cell(row, "maj@k/" + task, 3), " ",
                      absl::StrFormat("%8s %8s", "-", "-"), "\n");
    }
  }
  return out;
}

}  // namespace r1
