// The multi-process runtime through the real binary: `r1 run` launches `r1 worker` processes with
// mpirun, trains on two data-parallel ranks with a separate rollout worker, survives a worker
// killed with SIGKILL, and after the scheduler itself is killed, `--resume` ends with weights
// bit-identical to an uninterrupted run's. Loopback only; every wait is bounded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/file_util.h"
#include "base/subprocess.h"
#include "nlohmann/json.hpp"

namespace r1 {
namespace {

using ::testing::HasSubstr;

// CLUSTER and the two step counts are filled in per test.
constexpr char kConfig[] = R"(run: {name: dist, seed: 11}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
cluster: {CLUSTER, heartbeat_interval_s: 0.5, worker_timeout_s: TIMEOUT}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 64, seed: 1, options: {max_digits: 1}}}
  prompts: {synthetic: {kind: arithmetic, count: 32, seed: 2, options: {max_digits: 1}}}
  held_out: {synthetic: {kind: arithmetic, count: 4, seed: 9, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {optimizer: {lr: 3.0e-3}, batch_size: 8, steps: PRETRAIN_STEPS, checkpoint_every: 10}
  - name: grpo
    type: grpo
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [prompts]}
    grpo:
      optimizer: {lr: 1.0e-3}
      steps: GRPO_STEPS
      checkpoint_every: 2
      prompts_per_step: 2
      group_size: 4
      max_new_tokens: 24
      kl_coef: 0.01
      rewards: [{name: accuracy}, {name: format, weight: 0.5}]
  - name: eval
    type: eval
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [held_out]}
    eval: {samples_per_prompt: 2, max_new_tokens: 24}
)";

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/r1_dist_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure()) RemoveAll(dir_).IgnoreError();
  }

  std::string WriteConfig(const std::string& cluster, int pretrain_steps, int grpo_steps,
                          int worker_timeout_s = 4) {
    std::string text =
        absl::StrReplaceAll(kConfig, {{"CLUSTER", cluster},
                                      {"TIMEOUT", std::to_string(worker_timeout_s)},
                                      {"PRETRAIN_STEPS", std::to_string(pretrain_steps)},
                                      {"GRPO_STEPS", std::to_string(grpo_steps)}});
    const std::string path = JoinPath(dir_, "dist.yaml");
    EXPECT_TRUE(WriteFileAtomic(path, text).ok());
    return path;
  }

  // Starts `r1 ARGS` in the background, output to `log`.
  Subprocess Start(const std::string& args, const std::string& log,
                   const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {R1_BINARY_DIR "/cli/r1"};
    for (absl::string_view a : absl::StrSplit(args, ' ', absl::SkipEmpty())) {
      argv.emplace_back(a);
    }
    SpawnOptions options;
    options.log_file = log;
    options.env = {{"OPENBLAS_NUM_THREADS", "1"}, {"R1_THREADS", "1"}};
    options.env.insert(env.begin(), env.end());
    absl::StatusOr<Subprocess> p = Subprocess::Spawn(argv, options);
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  }

  // Runs `r1 ARGS` to the end (bounded); returns its exit code and output.
  std::pair<int, std::string> Run(const std::string& args) {
    const std::string log = JoinPath(dir_, absl::StrCat("run", ++runs_, ".log"));
    Subprocess p = Start(args, log);
    absl::StatusOr<ExitInfo> exit = p.Wait(absl::Minutes(4));
    if (!exit.ok()) p.Terminate(absl::Seconds(5));
    return {exit.ok() && exit->exited ? exit->exit_code : -1, ReadFile(log).value_or("")};
  }

  // Lines in a run's STAGE/metrics.jsonl (0 when absent).
  static int MetricLines(const std::string& run_dir, const std::string& stage) {
    absl::StatusOr<std::string> text = ReadFile(JoinPath(run_dir, stage + "/metrics.jsonl"));
    if (!text.ok()) return 0;
    return static_cast<int>(std::count(text->begin(), text->end(), '\n'));
  }

  // Waits (bounded) until `stage` of the run in `run_dir` has logged at least `lines` steps.
  static bool WaitForSteps(Subprocess& run, const std::string& run_dir, const std::string& stage,
                           int lines) {
    for (absl::Time end = absl::Now() + absl::Minutes(3); absl::Now() < end;) {
      if (MetricLines(run_dir, stage) >= lines) return true;
      if (!run.running()) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  // Pids of the `r1 worker` processes serving the scheduler of `run_dir`.
  static std::vector<pid_t> WorkerPids(const std::string& run_dir) {
    std::string address(absl::StripTrailingAsciiWhitespace(
        ReadFile(JoinPath(run_dir, "scheduler.addr")).value_or("none")));
    std::vector<pid_t> pids;
    // Anchored at the program path: not mpirun's command line, nor the shell's running pgrep.
    FILE* pipe = popen(("pgrep -f '^[^ ]*/r1 worker --scheduler " + address + " '").c_str(), "r");
    if (pipe == nullptr) return pids;
    int pid = 0;
    while (std::fscanf(pipe, "%d", &pid) == 1) pids.push_back(pid);
    pclose(pipe);
    return pids;
  }

  // Whether the stage output model files of two runs are byte for byte the same.
  static bool SameGrpoWeights(const std::string& a_dir, const std::string& b_dir) {
    absl::StatusOr<std::string> a = ReadFile(JoinPath(a_dir, "grpo/output/model.safetensors"));
    absl::StatusOr<std::string> b = ReadFile(JoinPath(b_dir, "grpo/output/model.safetensors"));
    return a.ok() && b.ok() && *a == *b;
  }

  // Waits (at most `limit`) until no worker of the run in `run_dir` is left; whether none is.
  static bool WorkersGone(const std::string& run_dir, absl::Duration limit) {
    for (absl::Time end = absl::Now() + limit; absl::Now() < end;) {
      if (WorkerPids(run_dir).empty()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return WorkerPids(run_dir).empty();
  }

  std::string dir_;
  int runs_ = 0;
};

TEST_F(DistributedTest, TwoTrainerRanksAndARolloutWorkerRunThePipeline) {
  const std::string config = WriteConfig(
      "trainer_ranks: 2, placement: disaggregated, rollout_workers: 1, max_stage_attempts: 1", 30,
      3);
  const std::string run_dir = JoinPath(dir_, "run");
  auto [code, output] = Run("run " + config + " --run-dir " + run_dir);
  ASSERT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("launched 3 workers: mpirun -np 3"));
  EXPECT_THAT(output, HasSubstr("[trainer,reward,weight_sync]"));
  EXPECT_THAT(output, HasSubstr("[rollout,weight_sync]"));
  EXPECT_THAT(output, HasSubstr("[eval] succeeded"));

  // The run's secret is readable by its owner only; tools find the scheduler's address.
  struct stat st;
  ASSERT_EQ(stat(JoinPath(run_dir, "token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(PathExists(JoinPath(run_dir, "scheduler.addr")));

  // Every GRPO step trained on two ranks and moved the policy to the rollout worker.
  absl::StatusOr<std::string> metrics = ReadFile(JoinPath(run_dir, "grpo/metrics.jsonl"));
  ASSERT_TRUE(metrics.ok());
  int steps = 0;
  for (absl::string_view line : absl::StrSplit(*metrics, '\n', absl::SkipEmpty())) {
    nlohmann::json m = nlohmann::json::parse(line);
    EXPECT_EQ(m["trainer_ranks"].get<double>(), 2.0) << line;
    EXPECT_GT(m["sync_bytes"].get<double>(), 0.0) << line;
    EXPECT_TRUE(m.contains("entropy")) << line;
    ++steps;
  }
  EXPECT_EQ(steps, 3);
  // The workers were told the run is over and are gone.
  for (int i = 0; i < 100 && !WorkerPids(run_dir).empty(); ++i)
    absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(WorkerPids(run_dir).empty());
}

TEST_F(DistributedTest, AWorkerKilledMidStageIsRelaunchedAndTheRunCompletes) {
  const std::string config = WriteConfig("trainer_ranks: 2, max_stage_attempts: 3", 400, 2);
  const std::string run_dir = JoinPath(dir_, "run");
  const std::string log = JoinPath(dir_, "killed_worker.log");
  Subprocess run = Start("run " + config + " --run-dir " + run_dir, log);
  ASSERT_TRUE(WaitForSteps(run, run_dir, "pretrain", 25)) << ReadFile(log).value_or("");
  std::vector<pid_t> workers = WorkerPids(run_dir);
  ASSERT_EQ(workers.size(), 2u) << ReadFile(log).value_or("");
  ASSERT_EQ(kill(workers[1], SIGKILL), 0);

  absl::StatusOr<ExitInfo> exit = run.Wait(absl::Minutes(4));
  if (!exit.ok()) run.Terminate(absl::Seconds(5));
  const std::string output = ReadFile(log).value_or("");
  ASSERT_TRUE(exit.ok() && exit->exited && exit->exit_code == 0) << output;
  EXPECT_THAT(output, HasSubstr("[pretrain] attempt 1 failed"));
  EXPECT_THAT(output, HasSubstr("relaunched 2 workers"));
  EXPECT_THAT(output, HasSubstr("[pretrain] pretrain started (attempt 2)"));
  EXPECT_THAT(output, HasSubstr("[eval] succeeded"));
  // The retry resumed from a checkpoint, and the stage's log has each logged step once.
  EXPECT_THAT(output, HasSubstr("relaunched"));
  absl::StatusOr<std::string> metrics = ReadFile(JoinPath(run_dir, "pretrain/metrics.jsonl"));
  ASSERT_TRUE(metrics.ok());
  int64_t last = 0;
  for (absl::string_view line : absl::StrSplit(*metrics, '\n', absl::SkipEmpty())) {
    const int64_t step = nlohmann::json::parse(line)["step"].get<int64_t>();
    EXPECT_GT(step, last) << line;
    last = step;
  }
  EXPECT_EQ(last, 400);
}

TEST_F(DistributedTest, AHungWorkerIsDeclaredDeadByItsMissedHeartbeats) {
  // SIGSTOP: the process exists and its socket stays open, so only the heartbeats tell.
  const std::string config = WriteConfig("trainer_ranks: 2, max_stage_attempts: 3", 400, 2);
  const std::string run_dir = JoinPath(dir_, "run");
  const std::string log = JoinPath(dir_, "hung_worker.log");
  Subprocess run = Start("run " + config + " --run-dir " + run_dir, log);
  ASSERT_TRUE(WaitForSteps(run, run_dir, "pretrain", 15)) << ReadFile(log).value_or("");
  std::vector<pid_t> workers = WorkerPids(run_dir);
  ASSERT_EQ(workers.size(), 2u) << ReadFile(log).value_or("");
  ASSERT_EQ(kill(workers[0], SIGSTOP), 0);

  absl::StatusOr<ExitInfo> exit = run.Wait(absl::Minutes(4));
  if (!exit.ok()) run.Terminate(absl::Seconds(5));
  kill(workers[0], SIGKILL);  // in case the run did not clean it up
  const std::string output = ReadFile(log).value_or("");
  ASSERT_TRUE(exit.ok() && exit->exited && exit->exit_code == 0) << output;
  EXPECT_THAT(output, HasSubstr("missed its heartbeats: declared dead"));
  EXPECT_THAT(output, HasSubstr("relaunched 2 workers"));
  EXPECT_THAT(output, HasSubstr("[eval] succeeded"));
}

TEST_F(DistributedTest, SigtermOfTheSchedulerTakesItsWorkersWithIt) {
  // worker_timeout_s 120: the workers must go because they are terminated, not by timing out.
  const std::string config = WriteConfig("trainer_ranks: 2", 400, 2, 120);
  const std::string run_dir = JoinPath(dir_, "run");
  const std::string log = JoinPath(dir_, "sigterm.log");
  Subprocess run = Start("run " + config + " --run-dir " + run_dir, log);
  ASSERT_TRUE(WaitForSteps(run, run_dir, "pretrain", 5)) << ReadFile(log).value_or("");
  ASSERT_EQ(WorkerPids(run_dir).size(), 2u);
  kill(run.pid(), SIGTERM);  // the scheduler alone, as a batch system would
  absl::StatusOr<ExitInfo> exit = run.Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->signal, SIGTERM);
  EXPECT_TRUE(WorkersGone(run_dir, absl::Seconds(20))) << "workers outlived a terminated scheduler";
}

TEST_F(DistributedTest, AfterTheSchedulerIsKilledResumeEndsWithBitIdenticalWeights) {
  const std::string config =
      WriteConfig("placement: disaggregated, rollout_workers: 1, max_stage_attempts: 1", 30, 40);
  const std::string straight = JoinPath(dir_, "straight");
  auto [code, output] = Run("run " + config + " --run-dir " + straight);
  ASSERT_EQ(code, 0) << output;

  const std::string killed = JoinPath(dir_, "killed");
  const std::string log = JoinPath(dir_, "killed.log");
  Subprocess run = Start("run " + config + " --run-dir " + killed, log);
  ASSERT_TRUE(WaitForSteps(run, killed, "grpo", 7)) << ReadFile(log).value_or("");
  run.Signal(SIGKILL);  // the scheduler process (its own group: the workers are not in it)
  ASSERT_TRUE(run.Wait(absl::Seconds(20)).ok());
  ASSERT_LT(MetricLines(killed, "grpo"), 40) << "the stage ended before the kill";

  // Workers whose scheduler is gone exit by themselves (worker_timeout_s: 4).
  EXPECT_TRUE(WorkersGone(killed, absl::Seconds(60)))
      << "workers still running a minute after their scheduler died";

  // The newest checkpoint is then damaged (a full disk, a bad copy): resume must not trust it,
  // must keep it, and must fall back to the one before without losing exactness.
  auto names = ListDir(JoinPath(killed, "grpo/checkpoints"));
  ASSERT_TRUE(names.ok()) << names.status();
  std::vector<std::string> checkpoints;
  for (const std::string& name : *names) {
    // "step-000006"; zero-padded, so ListDir's order is step order. Temp dirs have a '.'.
    if (absl::StartsWith(name, "step-") && name.find('.') == std::string::npos) {
      checkpoints.push_back(name);
    }
  }
  ASSERT_GE(checkpoints.size(), 2u) << "killed before the stage's second checkpoint";
  const std::string newest = JoinPath(killed, "grpo/checkpoints/" + checkpoints.back());
  ASSERT_EQ(truncate(JoinPath(newest, "model.safetensors").c_str(), 100), 0);

  auto [resumed, resumed_output] = Run("run --resume " + killed);
  ASSERT_EQ(resumed, 0) << resumed_output;
  EXPECT_THAT(resumed_output, HasSubstr("[pretrain] already succeeded; skipped"));
  EXPECT_THAT(resumed_output, HasSubstr("model.safetensors: 100 bytes, the manifest says"));
  EXPECT_TRUE(IsDirectory(newest + ".corrupt-1")) << resumed_output;
  EXPECT_TRUE(SameGrpoWeights(straight, killed))
      << "resumed weights differ from the uninterrupted run's";
  EXPECT_EQ(MetricLines(killed, "grpo"), 40);
}

// Asynchronous RL (grpo.max_staleness: 1) through the real processes: the rollout worker samples
// step n+1 while the trainer ranks train step n, every step after the first trains on rollouts one
// update old with truncated importance weights, and a run whose scheduler is killed mid-stage
// resumes to the same weights, byte for byte, as an uninterrupted one.
TEST_F(DistributedTest, AsyncRlRunsOffPolicyAndResumesToBitIdenticalWeights) {
  std::string config =
      WriteConfig("placement: disaggregated, rollout_workers: 1, max_stage_attempts: 1", 30, 30);
  {
    std::string text = ReadFile(config).value_or("");
    text = absl::StrReplaceAll(
        text, {{"      kl_coef: 0.01\n", "      kl_coef: 0.01\n      max_staleness: 1\n"}});
    ASSERT_TRUE(WriteFileAtomic(config, text).ok());
  }
  const std::string straight = JoinPath(dir_, "straight");
  auto [code, output] = Run("run " + config + " --run-dir " + straight);
  ASSERT_EQ(code, 0) << output;
  absl::StatusOr<std::string> metrics = ReadFile(JoinPath(straight, "grpo/metrics.jsonl"));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(*metrics, '\n', absl::SkipEmpty())) {
    const nlohmann::json m = nlohmann::json::parse(line);
    ASSERT_TRUE(m.contains("staleness") && m.contains("importance_weight_mean")) << line;
    EXPECT_EQ(m["staleness"].get<double>(), lines == 0 ? 0.0 : 1.0) << line;
    EXPECT_GT(m["importance_weight_mean"].get<double>(), 0.0) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 30);

  const std::string killed = JoinPath(dir_, "killed");
  const std::string log = JoinPath(dir_, "killed.log");
  Subprocess run = Start("run " + config + " --run-dir " + killed, log);
  ASSERT_TRUE(WaitForSteps(run, killed, "grpo", 7)) << ReadFile(log).value_or("");
  run.Signal(SIGKILL);
  ASSERT_TRUE(run.Wait(absl::Seconds(20)).ok());
  ASSERT_LT(MetricLines(killed, "grpo"), 30) << "the stage ended before the kill";
  EXPECT_TRUE(WorkersGone(killed, absl::Seconds(60)))
      << "workers still running a minute after their scheduler died";
  EXPECT_TRUE(PathExists(JoinPath(killed, "grpo/checkpoints/step-000006/pending_rollouts.json")));

  auto [resumed, resumed_output] = Run("run --resume " + killed);
  ASSERT_EQ(resumed, 0) << resumed_output;
  EXPECT_THAT(resumed_output, HasSubstr("[grpo] resuming after step "));
  EXPECT_TRUE(SameGrpoWeights(straight, killed))
      << "resumed weights differ from the uninterrupted run's";
  EXPECT_EQ(MetricLines(killed, "grpo"), 30);
}

// Disaggregated placement with a reward model in the mix: the trainer scores each complete
// group while the rollout worker still decodes the others, on real worker processes.
TEST_F(DistributedTest, ARewardModelScoresWhileTheRolloutWorkerDecodes) {
  std::string config =
      WriteConfig("placement: disaggregated, rollout_workers: 1, max_stage_attempts: 1", 20, 4);
  {
    std::string text = ReadFile(config).value_or("");
    text = absl::StrReplaceAll(
        text, {{"  held_out:",
                "  preference: {synthetic: {kind: preference, count: 32, seed: 6}}\n"
                "  held_out:"},
               {"  - name: grpo\n    type: grpo\n    depends_on: [pretrain]\n",
                "  - name: rm\n    type: reward_model\n    depends_on: [pretrain]\n"
                "    inputs: {model: \"stage:pretrain\", datasets: [preference]}\n"
                "    reward_model: {optimizer: {lr: 1.0e-4}, batch_size: 16, max_seq_len: 128}\n"
                "  - name: grpo\n    type: grpo\n    depends_on: [pretrain, rm]\n"},
               {"rewards: [{name: accuracy}, {name: format, weight: 0.5}]",
                "rewards: [{name: accuracy}, {name: reward_model, weight: 0.5, applies_to: all, "
                "model: \"stage:rm\"}]"}});
    ASSERT_TRUE(WriteFileAtomic(config, text).ok());
  }
  const std::string run_dir = JoinPath(dir_, "run");
  auto [code, output] = Run("run " + config + " --run-dir " + run_dir);
  ASSERT_EQ(code, 0) << output;
  absl::StatusOr<std::string> metrics = ReadFile(JoinPath(run_dir, "grpo/metrics.jsonl"));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  int lines = 0;
  double overlapped = 0.0;
  for (absl::string_view line : absl::StrSplit(*metrics, '\n', absl::SkipEmpty())) {
    const nlohmann::json m = nlohmann::json::parse(line);
    ASSERT_TRUE(m.contains("reward_model_overlapped_seconds")) << line;
    overlapped += m["reward_model_overlapped_seconds"].get<double>();
    ++lines;
  }
  EXPECT_EQ(lines, 4);
  EXPECT_GT(overlapped, 0.0) << "no reward-model scoring happened while decoding";
}

// cluster.worker_groups: 2 runs one launcher job of two colocated workers, each its own group:
// the eval of the pretrained model runs beside GRPO on the other group, `r1 status --watch` shows
// both running at once, and the journal has both started before either ended.
TEST_F(DistributedTest, TwoWorkerGroupsRunIndependentStagesSideBySide) {
  // Long enough, both, that the status stream (a few updates a second) sees them overlap.
  std::string config = WriteConfig("worker_groups: 2, max_stage_attempts: 1", 30, 150);
  {
    std::string text = ReadFile(config).value_or("");
    text = absl::StrReplaceAll(
        text, {{"  - name: eval\n",
                "  - name: eval_pretrain\n    type: eval\n    depends_on: [pretrain]\n"
                "    inputs: {model: \"stage:pretrain\", datasets: [many]}\n"
                "    eval: {samples_per_prompt: 4, max_new_tokens: 48}\n  - name: eval\n"},
               {"  held_out:",
                "  many: {synthetic: {kind: arithmetic, count: 400, seed: 8, "
                "options: {max_digits: 1}}}\n  held_out:"}});
    ASSERT_TRUE(WriteFileAtomic(config, text).ok());
  }
  const std::string run_dir = JoinPath(dir_, "groups");
  const std::string log = JoinPath(dir_, "groups.log");
  Subprocess run = Start("run " + config + " --run-dir " + run_dir, log);
  bool listening = false;
  for (absl::Time end = absl::Now() + absl::Minutes(1); !listening && absl::Now() < end;) {
    listening = PathExists(JoinPath(run_dir, "scheduler.addr"));
    if (!listening) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(listening) << ReadFile(log).value_or("");
  const std::string watch_log = JoinPath(dir_, "watch.log");
  Subprocess watch = Start("status --run-dir " + run_dir + " --watch --json", watch_log);
  absl::StatusOr<ExitInfo> ran = run.Wait(absl::Minutes(4));
  ASSERT_TRUE(ran.ok() && ran->exited && ran->exit_code == 0) << ReadFile(log).value_or("");
  absl::StatusOr<ExitInfo> watched = watch.Wait(absl::Seconds(30));
  if (!watched.ok()) watch.Terminate(absl::Seconds(5));
  const std::string output = ReadFile(log).value_or("");
  EXPECT_THAT(output, HasSubstr("2 worker processes in 2 groups"));

  bool together = false;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(watch_log).value_or(""), '\n', absl::SkipEmpty())) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("stages")) continue;
    std::set<std::string> running;
    for (const nlohmann::json& stage : j["stages"]) {
      if (stage["state"] == "running") running.insert(stage["name"].get<std::string>());
    }
    together = together || (running.count("grpo") && running.count("eval_pretrain"));
  }
  EXPECT_TRUE(together) << "r1 status never showed grpo and eval_pretrain running together:\n"
                        << ReadFile(watch_log).value_or("");

  // Journal: both started before either ended.
  std::vector<std::string> events;
  for (absl::string_view line : absl::StrSplit(ReadFile(JoinPath(run_dir, "journal")).value_or(""),
                                               '\n', absl::SkipEmpty())) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    const std::string stage = j["stage"].get<std::string>();
    if (stage == "grpo" || stage == "eval_pretrain") {
      events.push_back(stage + " " + j["event"].get<std::string>());
    }
  }
  ASSERT_EQ(events.size(), 4u);
  EXPECT_THAT(std::vector<std::string>(events.begin(), events.begin() + 2),
              ::testing::UnorderedElementsAre("grpo running", "eval_pretrain running"));
}

TEST_F(DistributedTest, ExternalWorkersJoinASchedulerAndStrangersAreRefused) {
  const std::string config =
      WriteConfig("mode: external, trainer_ranks: 2, max_stage_attempts: 1", 30, 2);
  const std::string run_dir = JoinPath(dir_, "run");
  const std::string log = JoinPath(dir_, "scheduler.log");
  // The deployment's token (R1_TOKEN, e.g. from a Kubernetes Secret) becomes the run's token.
  const std::string token = "deployment-secret-0123456789";
  Subprocess scheduler =
      Start("scheduler " + config + " --run-dir " + run_dir + " --wait-workers 120", log,
            {{"R1_TOKEN", token}});
  std::string address;
  for (absl::Time end = absl::Now() + absl::Seconds(60); address.empty() && absl::Now() < end;) {
    address = std::string(absl::StripTrailingAsciiWhitespace(
        ReadFile(JoinPath(run_dir, "scheduler.addr")).value_or("")));
    if (address.empty()) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_FALSE(address.empty()) << ReadFile(log).value_or("");
  EXPECT_EQ(ReadFile(JoinPath(run_dir, "token")).value_or(""), token + "\n");

  // A worker with the wrong token is refused and exits.
  SpawnOptions stranger_options;
  stranger_options.env = {{"R1_TOKEN", "not-the-token"}};
  stranger_options.log_file = JoinPath(dir_, "stranger.log");
  absl::StatusOr<Subprocess> stranger = Subprocess::Spawn(
      {R1_BINARY_DIR "/cli/r1", "worker", "--scheduler", address}, stranger_options);
  ASSERT_TRUE(stranger.ok());
  absl::StatusOr<ExitInfo> refused = stranger->Wait(absl::Seconds(60));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->exit_code, 1);
  EXPECT_THAT(ReadFile(stranger_options.log_file).value_or(""), HasSubstr("token"));

  // The real workers: one mpirun job of two ranks, as Slurm or the MPI Operator would start.
  SpawnOptions worker_options;
  worker_options.log_file = JoinPath(dir_, "workers.log");
  worker_options.env = {{"OPENBLAS_NUM_THREADS", "1"}, {"R1_THREADS", "1"}};
  std::vector<std::string> argv = {"mpirun", "-np", "2", "--oversubscribe"};
  if (geteuid() == 0) argv.push_back("--allow-run-as-root");
  for (const char* a :
       {"--mca", "btl", "self,vader", R1_BINARY_DIR "/cli/r1", "worker", "--scheduler"}) {
    argv.push_back(a);
  }
  argv.push_back(address);
  argv.push_back("--token-file");
  argv.push_back(JoinPath(run_dir, "token"));
  absl::StatusOr<Subprocess> workers = Subprocess::Spawn(argv, worker_options);
  ASSERT_TRUE(workers.ok()) << workers.status();

  absl::StatusOr<ExitInfo> done = scheduler.Wait(absl::Minutes(3));
  if (!done.ok()) scheduler.Terminate(absl::Seconds(5));
  const std::string output = ReadFile(log).value_or("");
  ASSERT_TRUE(done.ok() && done->exited && done->exit_code == 0) << output;
  EXPECT_THAT(output, HasSubstr("waiting for 2 workers to register"));
  EXPECT_THAT(output, HasSubstr("[eval] succeeded"));
  // The workers leave once the scheduler ends the run.
  absl::StatusOr<ExitInfo> workers_done = workers->Wait(absl::Seconds(60));
  if (!workers_done.ok()) workers->Terminate(absl::Seconds(5));
  ASSERT_TRUE(workers_done.ok());
  EXPECT_EQ(workers_done->exit_code, 0) << ReadFile(worker_options.log_file).value_or("");
}

TEST_F(DistributedTest, CancelStopsTheRunAndResumeFinishesIt) {
  const std::string config = WriteConfig("max_stage_attempts: 2", 30, 120);
  const std::string run_dir = JoinPath(dir_, "run");
  const std::string log = JoinPath(dir_, "cancelled.log");
  Subprocess run = Start("run " + config + " --run-dir " + run_dir, log);
  ASSERT_TRUE(WaitForSteps(run, run_dir, "grpo", 3)) << ReadFile(log).value_or("");
  auto [code, cancel_output] = Run("cancel --run-dir " + run_dir + " --reason test");
  EXPECT_EQ(code, 0) << cancel_output;
  absl::StatusOr<ExitInfo> exit = run.Wait(absl::Minutes(2));
  if (!exit.ok()) run.Terminate(absl::Seconds(5));
  const std::string output = ReadFile(log).value_or("");
  ASSERT_TRUE(exit.ok() && exit->exited) << output;
  EXPECT_EQ(exit->exit_code, 1) << output;
  EXPECT_THAT(output, HasSubstr("run cancelled: test"));
  EXPECT_THAT(output, HasSubstr("r1 run --resume"));
  EXPECT_THAT(output, ::testing::Not(HasSubstr("[grpo] grpo started (attempt 2)")));
  EXPECT_LT(MetricLines(run_dir, "grpo"), 120);

  auto [resumed, resumed_output] = Run("run --resume " + run_dir);
  ASSERT_EQ(resumed, 0) << resumed_output;
  EXPECT_EQ(MetricLines(run_dir, "grpo"), 120);
}

}  // namespace
}  // namespace r1
