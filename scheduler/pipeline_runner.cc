// The pipeline executor (see pipeline_runner.h).
#include "scheduler/pipeline_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

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
    const std::vector<std::string> order = dag.TopologicalOrder();
    auto stages = journal_->Stages();
    for (const std::string& name : order) {
      auto it = stages.find(name);
      if (it != stages.end() && it->second.state == StageState::kSucceeded) {
        Log(absl::StrCat("[", name, "] already succeeded; skipped"));
        Event(name, StageEvent::kSkipped, it->second.attempt, "", true);
        report.results[name] = StageResult{run_dir_.OutputDir(name), {}};
      } else {
        attempts_[name] = it == stages.end() ? 0 : it->second.attempt;
      }
    }
    R1_RETURN_IF_ERROR(RunPending(dag, &report));
    for (const std::string& name : order) {
      const StageConfig& stage = *config_.FindStage(name);
      if (stage.type != StageType::kEval) continue;
      R1_ASSIGN_OR_RETURN(EvalRow row, ReadEvalRow(stage));
      report.evals.push_back(std::move(row));
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
  // One stage attempt on its own thread.
  struct Attempt {
    const StageConfig* stage = nullptr;
    int32_t number = 0;  // 1-based, over every run of the stage
    size_t group = 0;
    std::chrono::steady_clock::time_point start;
    std::future<absl::StatusOr<StageResult>> result;
  };

  void Log(const std::string& line) const {
    std::lock_guard<std::mutex> lock(log_mu_);
    if (options_.log) options_.log(line);
  }

  void Event(const std::string& stage, StageEvent event, int32_t attempt, const std::string& error,
             bool final) const {
    if (options_.on_stage_event) options_.on_stage_event(stage, event, attempt, error, final);
  }

  // Runs the pending stages to the end: starts every ready stage (its dependencies succeeded) on a
  // free worker group, in topological order, and retries failed attempts. Worker groups are
  // (re)acquired only while no attempt runs, so a relaunch never pulls workers from under a
  // running stage. Returns the first final failure once no attempt runs any more.
  absl::Status RunPending(const StageDag& dag, PipelineReport* report) {
    std::vector<Attempt> running;
    std::vector<WorkerClient*> groups;
    absl::Status failure;  // the first final failure: nothing new starts after it
    while (true) {
      // Start what can start.
      while (failure.ok()) {
        const StageConfig* next = NextReady(dag, *report, running);
        if (next == nullptr) break;
        if (running.empty()) {
          // Between stages: check the workers (relaunching dead ones) and take every group.
          R1_RETURN_IF_ERROR(StartAttempt(*next, &running));
          absl::StatusOr<std::vector<WorkerClient*>> acquired = AcquireGroups();
          if (!acquired.ok()) {
            failure = Finish(running.back(), WorkersError(acquired.status()), report);
            running.pop_back();
            if (!failure.ok()) break;
            continue;
          }
          groups = *std::move(acquired);
          Launch(running.back(), 0, groups[0]);
          continue;
        }
        const std::optional<size_t> g = FreeGroup(running, groups.size());
        if (!g.has_value() || groups_need_check_) break;
        R1_RETURN_IF_ERROR(StartAttempt(*next, &running));
        Launch(running.back(), *g, groups[*g]);
      }
      if (running.empty()) break;
      // Wait for an attempt to end.
      size_t done = running.size();
      while (done == running.size()) {
        for (size_t i = 0; i < running.size() && done == running.size(); ++i) {
          if (running[i].result.wait_for(std::chrono::milliseconds(0)) ==
              std::future_status::ready) {
            done = i;
          }
        }
        if (done == running.size()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      Attempt attempt = std::move(running[done]);
      running.erase(running.begin() + static_cast<int64_t>(done));
      absl::Status ended = Finish(attempt, attempt.result.get(), report);
      if (!ended.ok() && failure.ok()) failure = ended;
    }
    return failure;
  }

  // The first stage, in topological order, whose dependencies all succeeded and that neither
  // succeeded nor runs now; null when there is none.
  const StageConfig* NextReady(const StageDag& dag, const PipelineReport& report,
                               const std::vector<Attempt>& running) const {
    std::set<std::string> succeeded, busy;
    for (const auto& [name, result] : report.results) succeeded.insert(name);
    for (const Attempt& a : running) busy.insert(a.stage->name);
    const std::vector<std::string> ready = dag.ReadyStages(succeeded, busy);
    return ready.empty() ? nullptr : config_.FindStage(ready.front());
  }

  // The lowest of `count` groups no running attempt uses; nullopt when all are in use.
  static std::optional<size_t> FreeGroup(const std::vector<Attempt>& running, size_t count) {
    for (size_t g = 0; g < count; ++g) {
      bool used = false;
      for (const Attempt& a : running) used = used || a.group == g;
      if (!used) return g;
    }
    return std::nullopt;
  }

  absl::StatusOr<std::vector<WorkerClient*>> AcquireGroups() {
    groups_need_check_ = false;
    if (!options_.acquire_workers) return std::vector<WorkerClient*>{worker_};
    R1_ASSIGN_OR_RETURN(std::vector<WorkerClient*> groups, options_.acquire_workers());
    if (groups.empty()) return absl::InternalError("no worker group to run stages on");
    return groups;
  }

  // A failed acquisition as the attempt's error: a configuration error keeps its payload and
  // wording (it ends the run as it is); others say they come from the workers.
  static absl::Status WorkersError(const absl::Status& status) {
    if (IsConfigurationError(status)) return status;
    return absl::Status(status.code(), absl::StrCat("workers: ", status.message()));
  }

  // Journals and announces a new attempt of `stage` (not started yet) at the end of `running`.
  absl::Status StartAttempt(const StageConfig& stage, std::vector<Attempt>* running) {
    Attempt a;
    a.stage = &stage;
    a.number = ++attempts_[stage.name];
    ++tries_[stage.name];
    R1_RETURN_IF_ERROR(journal_->Append({stage.name, JournalEvent::kRunning, a.number}));
    Log(absl::StrCat("[", stage.name, "] ", StageTypeName(stage.type), " started (attempt ",
                     a.number, ")"));
    Event(stage.name, StageEvent::kRunning, a.number, "", false);
    a.start = std::chrono::steady_clock::now();
    running->push_back(std::move(a));
    return absl::OkStatus();
  }

  void Launch(Attempt& attempt, size_t group, WorkerClient* worker) {
    attempt.group = group;
    const StageConfig* stage = attempt.stage;
    attempt.result =
        std::async(std::launch::async, [this, stage, worker] { return RunOnce(*stage, worker); });
  }

  // Records how `attempt` ended: journal, log, events, the report's results; a failure with
  // attempts left puts the stage back for a retry (and has the workers checked first). Returns
  // the error that ends the run, or OK.
  absl::Status Finish(const Attempt& attempt, absl::StatusOr<StageResult> result,
                      PipelineReport* report) {
    const StageConfig& stage = *attempt.stage;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - attempt.start).count();
    if (result.ok()) {
      R1_RETURN_IF_ERROR(journal_->Append({stage.name, JournalEvent::kSucceeded, attempt.number}));
      std::string summary;
      for (const auto& [k, v] : result->summary) {
        if (k == "loss" || k == "pass@1" || k == "maj@k" || k == "kept" || k == "reward_mean" ||
            k == "reward_last_quarter" || k == "format_rate" || k == "accuracy") {
          absl::StrAppend(&summary, " ", k, "=", absl::StrFormat("%.4g", v));
        }
      }
      Log(absl::StrFormat("[%s] succeeded in %.1fs:%s", stage.name, seconds, summary));
      Event(stage.name, StageEvent::kSucceeded, attempt.number, "", true);
      report->results[stage.name] = *std::move(result);
      return absl::OkStatus();
    }
    const absl::Status last = result.status();
    JournalRecord failed{stage.name, JournalEvent::kFailed, attempt.number};
    failed.error = std::string(last.message());
    R1_RETURN_IF_ERROR(journal_->Append(failed));
    Log(absl::StrCat("[", stage.name, "] attempt ", attempt.number, " failed: ", last.message()));
    groups_need_check_ = true;  // a worker may have died: check before the next start
    if (absl::IsCancelled(last)) {
      Event(stage.name, StageEvent::kCancelled, attempt.number, std::string(last.message()), true);
      return absl::CancelledError(absl::StrCat("stage ", stage.name, " cancelled (", last.message(),
                                               "); continue with r1 run --resume"));
    }
    if (IsConfigurationError(last)) {
      Event(stage.name, StageEvent::kFailed, attempt.number, std::string(last.message()), true);
      return last;
    }
    // Bad input: retrying cannot help.
    const int32_t max_attempts = std::max(1, config_.cluster.max_stage_attempts);
    const bool final = absl::IsInvalidArgument(last) || tries_[stage.name] >= max_attempts;
    Event(stage.name, StageEvent::kFailed, attempt.number, std::string(last.message()), final);
    if (!final) return absl::OkStatus();
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
  // The executor's thread only:
  std::map<std::string, int32_t> attempts_;  // attempts of each stage, earlier runs included
  std::map<std::string, int32_t> tries_;     // attempts of each stage in this run
  bool groups_need_check_ = false;           // an attempt failed: acquire before starting more
  mutable std::mutex log_mu_;                // serializes options_.log
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
