// The pipeline executor against the fake worker: DAG order, the journal, retry from a checkpoint
// after a worker failure, resume skipping succeeded stages, report.json, and clear failures.
#include "scheduler/pipeline_runner.h"

#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/journal.h"
#include "scheduler/configuration_error.h"
#include "tests/stages/fake_worker.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string TempDir(const std::string& name) { return testing_util::ScratchDir("runner_" + name); }

// A prompt_answer file of three prompts (reference "0") in `dir`; returns its path.
std::string WriteData(const std::string& dir) {
  std::string data = JoinPath(dir, "data.jsonl");
  std::ofstream out(data);
  for (const char* p : {"a", "b", "c"}) {
    out << nlohmann::json{{"prompt", p},
                          {"answer", "0"},
                          {"solution", "<think>t</think><answer>0</answer>"}}
               .dump()
        << "\n";
  }
  return data;
}

PipelineConfig Config(const std::string& dir, int attempts) {
  const std::string data = WriteData(dir);
  std::string yaml = absl::StrCat(R"(run: {name: t, seed: 1}
model: {path: /models/base}
cluster: {max_stage_attempts: )",
                                  attempts, R"(}
datasets:
  d: {path: )",
                                  data, R"(, format: prompt_answer}
stages:
  - name: eval_sft
    type: eval
    depends_on: [sft]
    inputs: {model: "stage:sft", datasets: [d]}
    eval: {samples_per_prompt: 2}
  - name: sft
    type: sft
    inputs: {model: base, datasets: [d]}
    sft: {batch_size: 2, steps: 4, checkpoint_every: 2}
)");
  auto config = ParseConfig(yaml);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

TEST(PipelineRunnerTest, RunsInDependencyOrderAndWritesTheReport) {
  std::string dir = TempDir("order");
  PipelineConfig config = Config(dir, 1);
  FakeWorker worker;
  std::vector<std::string> lines;
  PipelineRunOptions options;
  options.run_dir = JoinPath(dir, "run");
  options.log = [&](const std::string& line) { lines.push_back(line); };
  auto report = RunPipeline(config, &worker, options);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->evals.size(), 1u);
  EXPECT_EQ(report->evals[0].stage, "eval_sft");
  EXPECT_EQ(report->evals[0].model, "stage:sft");
  EXPECT_DOUBLE_EQ(report->evals[0].values["pass@1"], 1.0);  // the fake always answers "0"
  EXPECT_EQ(worker.batches.size(), 4u);
  // sft ran before eval_sft although the config lists eval_sft first.
  EXPECT_EQ(worker.loads.front(), "policy<-/models/base");
  EXPECT_THAT(worker.loads.back(), HasSubstr("run/sft/output"));
  EXPECT_TRUE(PathExists(JoinPath(options.run_dir, "report.json")));
  EXPECT_THAT(FormatEvalTable(report->evals), HasSubstr("eval_sft"));
  auto replay = ReplayJournal(JoinPath(options.run_dir, "journal"));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->stages["sft"].state, StageState::kSucceeded);
  EXPECT_EQ(replay->stages["eval_sft"].state, StageState::kSucceeded);

  // Resume: everything succeeded, nothing runs again.
  FakeWorker again;
  options.resume = true;
  auto resumed = RunPipeline(config, &again, options);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(again.batches.empty());
  EXPECT_EQ(again.generated, 0);
  EXPECT_EQ(resumed->evals.size(), 1u);
}

// The table's columns fit the longest stage and model names; a value an eval did not report
// prints as "-".
TEST(FormatEvalTableTest, ColumnsFitTheNamesAndMissingValuesShowAsDash) {
  std::vector<EvalRow> rows = {
      {"eval_a_rather_long_stage_name_indeed",
       "stage:a",
       {{"pass@1", 0.5}, {"maj@k", 0.25}, {"format_rate", 1.0}, {"response_length_mean", 12.0}}},
      {"eval_b",
       "stage:b",
       {{"pass@1", 0.125},
        {"maj@k", 0.0},
        {"response_length_mean", 3.0},
        {"pass@1/countdown", 0.25},
        {"maj@k/countdown", 0.5}}}};
  const std::string table = FormatEvalTable(rows);
  const std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].size(), lines[1].size());
  EXPECT_EQ(lines[1].size(), lines[2].size());
  EXPECT_EQ(lines[2].size(), lines[3].size());
  EXPECT_THAT(lines[1], HasSubstr("eval_a_rather_long_stage_name_indeed  stage:a"));
  EXPECT_THAT(lines[1], HasSubstr("0.500    0.250    1.000     12.0"));
  EXPECT_THAT(lines[2], HasSubstr("0.125    0.000        -      3.0"));
  // eval_b covered several tasks: one indented line each.
  EXPECT_THAT(lines[3], ::testing::StartsWith("  countdown "));
  EXPECT_THAT(lines[3], HasSubstr("0.250    0.500        -        -"));
}

TEST(PipelineRunnerTest, RetriesAFailedStageFromItsCheckpoint) {
  std::string dir = TempDir("retry");
  PipelineConfig config = Config(dir, 2);
  FakeWorker worker;
  worker.fail_at_step = 3;  // the worker "dies" once, after the step-2 checkpoint
  PipelineRunOptions options;
  options.run_dir = JoinPath(dir, "run");
  auto report = RunPipeline(config, &worker, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(worker.batches.size(), 3u + 2u);  // steps 0-2, then 2-3 again from the checkpoint
  EXPECT_EQ(worker.batches.back().step, 3);
  auto replay = ReplayJournal(JoinPath(options.run_dir, "journal"));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->stages["sft"].attempt, 2);
  EXPECT_EQ(replay->stages["sft"].state, StageState::kSucceeded);
}

TEST(PipelineRunnerTest, ExhaustedAttemptsFailTheRunNamingTheStage) {
  std::string dir = TempDir("exhausted");
  PipelineConfig config = Config(dir, 1);
  FakeWorker worker;
  worker.fail_at_step = 1;
  PipelineRunOptions options;
  options.run_dir = JoinPath(dir, "run");
  auto report = RunPipeline(config, &worker, options);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("stage sft failed"));
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("worker died"));
  EXPECT_EQ(worker.generated, 0);  // the eval after it never ran
  auto replay = ReplayJournal(JoinPath(options.run_dir, "journal"));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->stages["sft"].state, StageState::kFailed);
}

TEST(PipelineRunnerTest, AConfigurationErrorEndsTheRunAtOnceAsItIs) {
  std::string dir = TempDir("configuration");
  PipelineConfig config = Config(dir, 3);
  FakeWorker worker;
  PipelineRunOptions options;
  options.run_dir = JoinPath(dir, "run");
  int acquired = 0;
  const absl::Status unusable =
      ConfigurationError("worker rank 0 (host n1) cannot use device cuda: no CUDA device");
  options.acquire_workers = [&]() -> absl::StatusOr<std::vector<WorkerClient*>> {
    ++acquired;
    return unusable;
  };
  std::vector<std::string> lines;
  options.log = [&](const std::string& line) { lines.push_back(line); };
  std::vector<bool> finals;
  options.on_stage_event = [&](const std::string&, StageEvent event, int32_t, const std::string&,
                               bool final) {
    if (event == StageEvent::kFailed) finals.push_back(final);
  };
  auto report = RunPipeline(config, &worker, options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status(), unusable);  // unchanged: no "stage sft failed: workers: "
  EXPECT_EQ(acquired, 1);                // no retry, although 3 attempts are allowed
  EXPECT_EQ(finals, std::vector<bool>{true});
  for (const std::string& line : lines) EXPECT_THAT(line, Not(HasSubstr("attempt 2")));
  auto replay = ReplayJournal(JoinPath(options.run_dir, "journal"));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->stages["sft"].state, StageState::kFailed);
  EXPECT_EQ(replay->stages["sft"].attempt, 1);

  // Other acquire errors are retried as before.
  acquired = 0;
  options.run_dir = JoinPath(dir, "run2");
  options.acquire_workers = [&]() -> absl::StatusOr<std::vector<WorkerClient*>> {
    ++acquired;
    return absl::UnavailableError("the worker launcher ended");
  };
  report = RunPipeline(config, &worker, options);
  ASSERT_FALSE(report.ok());
  EXPECT_FALSE(IsConfigurationError(report.status()));
  EXPECT_EQ(acquired, 3);
  // The exhausted retries keep the original code, not a generic FailedPrecondition.
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable) << report.status();
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("stage sft failed"));
}

// Two independent branches: sft -> eval_a and sft2 -> eval_b.
PipelineConfig TwoBranches(const std::string& dir, int attempts) {
  const std::string data = WriteData(dir);
  auto config = ParseConfig(absl::StrCat(R"(run: {name: t, seed: 1}
model: {path: /models/base}
cluster: {worker_groups: 2, max_stage_attempts: )",
                                         attempts, R"(}
datasets:
  d: {path: )",
                                         data, R"(, format: prompt_answer}
stages:
  - {name: sft, type: sft, inputs: {model: base, datasets: [d]},
     sft: {batch_size: 2, steps: 4, checkpoint_every: 2}}
  - {name: sft2, type: sft, inputs: {model: base, datasets: [d]},
     sft: {batch_size: 2, steps: 4, checkpoint_every: 2}}
  - {name: eval_a, type: eval, depends_on: [sft], inputs: {model: "stage:sft", datasets: [d]}}
  - {name: eval_b, type: eval, depends_on: [sft2], inputs: {model: "stage:sft2", datasets: [d]}}
)"));
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

// Workers whose first TrainStep waits (at most 10 s) until every one of them has entered its
// first TrainStep: it returns in time only if their stages train at the same time.
struct Rendezvous {
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  int expected = 2;
  int timeouts = 0;
};

class MeetingWorker : public FakeWorker {
 public:
  explicit MeetingWorker(Rendezvous* meet) : meet_(meet) {}
  absl::StatusOr<StepMetrics> TrainStep(const std::string& slot, const TrainBatch& batch) override {
    if (!met_) {
      met_ = true;
      std::unique_lock<std::mutex> lock(meet_->mu);
      ++meet_->arrived;
      meet_->cv.notify_all();
      if (!meet_->cv.wait_for(lock, std::chrono::seconds(10),
                              [&] { return meet_->arrived >= meet_->expected; })) {
        ++meet_->timeouts;
      }
    }
    return FakeWorker::TrainStep(slot, batch);
  }

 private:
  Rendezvous* meet_;
  bool met_ = false;
};

TEST(PipelineRunnerTest, IndependentStagesRunAtTheSameTimeOnTheirOwnWorkerGroups) {
  std::string dir = TempDir("branches");
  PipelineConfig config = TwoBranches(dir, 1);
  Rendezvous meet;
  MeetingWorker w0(&meet), w1(&meet);
  PipelineRunOptions options;
  options.run_dir = JoinPath(dir, "run");
  options.acquire_workers = [&]() -> absl::StatusOr<std::vector<WorkerClient*>> {
    return std::vector<WorkerClient*>{&w0, &w1};
  };
  std::mutex mu;
  std::set<std::string> running;
  size_t most_running = 0;
  options.on_stage_event = [&](const std::string& stage, StageEvent event, int32_t,
                               const std::string&, bool) {
    std::lock_guard<std::mutex> lock(mu);
    if (event == StageEvent::kRunning) running.insert(stage);
    if (event == StageEvent::kSucceeded) running.erase(stage);
    most_running = std::max(most_running, running.size());
  };
  auto report = RunPipeline(config, nullptr, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(meet.timeouts, 0) << "sft and sft2 did not train at the same time";
  EXPECT_EQ(most_running, 2u);
  // Each group ran one branch's training: 4 steps each.
  EXPECT_EQ(w0.batches.size(), 4u);
  EXPECT_EQ(w1.batches.size(), 4u);
  ASSERT_EQ(report->evals.size(), 2u);  // in topological order, whatever finished first
  EXPECT_EQ(report->evals[0].stage, "eval_a");
  EXPECT_EQ(report->evals[1].stage, "eval_b");
  auto replay = ReplayJournal(JoinPath(options.run_dir, "journal"));
  ASSERT_TRUE(replay.ok());
  for (const char* stage : {"sft", "sft2", "eval_a", "eval_b"}) {
    EXPECT_EQ(replay->stages[stage].state, StageState::kSucceeded) << stage;
  }
}

// A failed attempt beside a running stage is retried only once that stage has finished, on
// freshly acquired groups (a relaunch must not pull workers from under a running stage).
TEST(PipelineRunnerTest, AFailureBesideARunningStageIsRetriedAfterItOnFreshGroups) {
  std::string dir = TempDir("branches_retry");
  PipelineConfig config = TwoBranches(dir, 2);
  Rendezvous meet;
  MeetingWorker w0(&meet), w1(&meet);
  w0.fail_at_step = 3;  // sft dies after its step-2 checkpoint, while sft2 trains
  PipelineRunOptions options;
  options.run_dir = JoinPath(dir, "run");
  int acquired = 0;
  options.acquire_workers = [&]() -> absl::StatusOr<std::vector<WorkerClient*>> {
    ++acquired;
    return std::vector<WorkerClient*>{&w0, &w1};
  };
  std::mutex mu;
  std::vector<std::string> lines;
  options.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  };
  auto report = RunPipeline(config, nullptr, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(meet.timeouts, 0);
  EXPECT_GE(acquired, 2);
  auto index = [&](const std::string& prefix) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (absl::StartsWith(lines[i], prefix)) return static_cast<int>(i);
    }
    return -1;
  };
  const int failed = index("[sft] attempt 1 failed");
  const int sft2_done = index("[sft2] succeeded");
  const int retry = index("[sft] sft started (attempt 2)");
  ASSERT_GE(failed, 0);
  ASSERT_GE(sft2_done, 0);
  ASSERT_GE(retry, 0);
  EXPECT_LT(sft2_done, retry) << "the retry started while sft2 still ran";
  auto replay = ReplayJournal(JoinPath(options.run_dir, "journal"));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->stages["sft"].attempt, 2);
  EXPECT_EQ(replay->stages["eval_b"].state, StageState::kSucceeded);
}

TEST(PipelineRunnerTest, ResumeRefusesADifferentConfig) {
  std::string dir = TempDir("mismatch");
  PipelineConfig config = Config(dir, 1);
  FakeWorker worker;
  PipelineRunOptions options;
  options.run_dir = JoinPath(dir, "run");
  ASSERT_TRUE(RunPipeline(config, &worker, options).ok());
  config.run.seed = 2;
  options.resume = true;
  auto report = RunPipeline(config, &worker, options);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("run.yaml"));
}

}  // namespace
}  // namespace r1
