// `r1 status --scheduler` and `r1 status --run-dir` against a SchedulerServer hosted in the test
// process: JSON and table output, the token from R1_TOKEN or --token-file, a wrong or missing
// token, an unreachable scheduler, --watch until the run finishes, and the run directory's
// scheduler.addr with its fallback to the files.
#include <stdlib.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/run_token.h"
#include "scheduler/scheduler_service.h"
#include "tests/cli/cli_fixture.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "0123abcd";

class StatusCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ::unsetenv("R1_TOKEN");
    registry_ = std::make_unique<WorkerRegistry>(WorkerRegistryOptions{});
    board_ = std::make_unique<StatusBoard>(
        "/runs/demo", "demo", std::vector<StageRef>{{"sft", "sft", 4}, {"rl", "grpo", 2}});
    service_ = std::make_unique<SchedulerService>(registry_.get(), board_.get(), kToken, nullptr);
    auto server = SchedulerServer::Start("127.0.0.1:0", service_.get(), registry_.get(),
                                         absl::Seconds(1), nullptr);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = server_->address();
    token_file_ = JoinPath(dir_, "token");
    ASSERT_TRUE(WriteRunTokenFile(token_file_, kToken).ok());
  }

  void TearDown() override {
    server_.reset();
    service_.reset();
    ::unsetenv("R1_TOKEN");
    CliTest::TearDown();
  }

  void AddWorkerAndProgress() {
    WorkerInfo w;
    w.address = "127.0.0.1:6001";
    w.host = "node7";
    w.offered_roles = {"trainer", "rollout"};
    ASSERT_TRUE(registry_->Register(w).ok());
    board_->StageRunning("sft", 1);
    board_->StageProgress("sft", 2, 0, {{"loss", 0.5}});
  }

  // Like Run, but the r1 process is killed after 30 s, and its stdout goes to `out` (which the
  // test may read while it runs).
  RunResult RunBounded(const std::string& args, const std::string& out) {
    testing_util::R1Options options;
    options.stdout_path = out;
    options.timeout = absl::Seconds(30);
    return WithJsonLines(testing_util::RunR1(args, options));
  }

  // Lines in `path` now.
  static size_t LinesIn(const std::string& path) {
    std::string text = ReadFile(path).value_or("");
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }

  // Waits (at most 10 s) until `path` has `n` lines.
  static bool WaitForLines(const std::string& path, size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (LinesIn(path) < n) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }

  std::unique_ptr<WorkerRegistry> registry_;
  std::unique_ptr<StatusBoard> board_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<SchedulerServer> server_;
  std::string address_, token_file_;
};

TEST_F(StatusCliTest, JsonWithTheTokenFromTheEnvironment) {
  AddWorkerAndProgress();
  ::setenv("R1_TOKEN", kToken, 1);
  RunResult r = Run("status --scheduler " + address_ + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 1u) << r.out;
  const nlohmann::json& j = r.lines[0];
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["source"], "scheduler");
  EXPECT_EQ(j["run_name"], "demo");
  EXPECT_FALSE(j["finished"].get<bool>());
  ASSERT_EQ(j["stages"].size(), 2u);
  const nlohmann::json& sft = j["stages"][0];
  EXPECT_EQ(sft["name"], "sft");
  EXPECT_EQ(sft["state"], "running");
  EXPECT_EQ(sft["step"], 2);
  EXPECT_EQ(sft["total_steps"], 4);
  EXPECT_EQ(sft["attempt"], 1);
  EXPECT_DOUBLE_EQ(sft["metrics"]["loss"].get<double>(), 0.5);
  EXPECT_TRUE(sft.contains("eta_seconds"));
  EXPECT_EQ(j["stages"][1]["state"], "pending");
  EXPECT_FALSE(j["stages"][1].contains("step"));  // not started
  ASSERT_EQ(j["workers"].size(), 1u);
  const nlohmann::json& w = j["workers"][0];
  EXPECT_EQ(w["id"], "w0");
  EXPECT_EQ(w["roles"], nlohmann::json({"trainer", "rollout"}));
  EXPECT_EQ(w["host"], "node7");
  EXPECT_EQ(w["address"], "127.0.0.1:6001");
  EXPECT_TRUE(w["alive"].get<bool>());
  EXPECT_GE(w["seconds_since_heartbeat"].get<double>(), 0);
  EXPECT_LT(w["seconds_since_heartbeat"].get<double>(), 60);
}

TEST_F(StatusCliTest, TableWithTheTokenFile) {
  AddWorkerAndProgress();
  registry_->MarkDead("w0");
  RunResult r = Run("status --scheduler " + address_ + " --token-file " + token_file_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("demo"));
  EXPECT_THAT(r.out, HasSubstr("running"));
  EXPECT_THAT(r.out, HasSubstr("2/4"));
  EXPECT_THAT(r.out, HasSubstr("loss=0.5"));
  EXPECT_THAT(r.out, HasSubstr("grpo"));
  EXPECT_THAT(r.out, HasSubstr("w0"));
  EXPECT_THAT(r.out, HasSubstr("trainer,rollout"));
  EXPECT_THAT(r.out, HasSubstr("node7"));
  EXPECT_THAT(r.out, HasSubstr("DEAD"));
}

TEST_F(StatusCliTest, TableSaysWhenNoWorkerRegistered) {
  RunResult r = Run("status --scheduler " + address_ + " --token-file " + token_file_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no workers registered"));
}

TEST_F(StatusCliTest, WrongOrMissingToken) {
  ::setenv("R1_TOKEN", "not-the-token", 1);
  RunResult wrong = Run("status --scheduler " + address_);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("token"));
  EXPECT_THAT(wrong.err, HasSubstr(address_));
  ::unsetenv("R1_TOKEN");
  RunResult missing = Run("status --scheduler " + address_);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("R1_TOKEN"));
  EXPECT_THAT(missing.err, HasSubstr("--token-file"));
}

TEST_F(StatusCliTest, UnreachableSchedulerIsNamed) {
  server_.reset();  // the port is free again: nothing listens there
  RunResult r = RunBounded("status --scheduler " + address_ + " --token-file " + token_file_,
                           JoinPath(dir_, "out.txt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot reach the scheduler at " + address_));
}

TEST_F(StatusCliTest, UsageErrors) {
  EXPECT_EQ(Run("status").exit_code, 2);
  EXPECT_EQ(Run("status --scheduler " + address_ + " --run-dir " + dir_).exit_code, 2);
  RunResult help = Run("status --help");
  EXPECT_THAT(help.out + help.err, HasSubstr("--scheduler HOST:PORT"));
}

TEST_F(StatusCliTest, WatchPrintsEveryChangeUntilTheRunFinishes) {
  const std::string out = JoinPath(dir_, "watch.jsonl");
  RunResult r;
  std::thread watcher([&] {
    r = RunBounded("status --scheduler " + address_ + " --token-file " + token_file_ +
                       " --json --watch --interval 0.01",
                   out);
  });
  bool progressed = WaitForLines(out, 1);  // the first snapshot
  board_->StageRunning("sft", 1);
  progressed = progressed && WaitForLines(out, 2);
  board_->StageSucceeded("sft");
  board_->StageSucceeded("rl");
  board_->Finish(true);  // ends the stream, whatever happened above
  watcher.join();
  EXPECT_TRUE(progressed);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GE(r.lines.size(), 3u) << r.out;
  EXPECT_EQ(r.lines[0]["stages"][0]["state"], "pending");
  EXPECT_EQ(r.lines[1]["stages"][0]["state"], "running");
  EXPECT_TRUE(r.lines.back()["finished"].get<bool>());
  EXPECT_TRUE(r.lines.back()["succeeded"].get<bool>());
  EXPECT_EQ(r.lines.back()["stages"][1]["state"], "succeeded");
}

TEST_F(StatusCliTest, RunDirAsksItsLiveScheduler) {
  AddWorkerAndProgress();
  const std::string run = JoinPath(dir_, "run");
  ASSERT_TRUE(MakeDirs(run).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(run, "scheduler.addr"), address_ + "\n").ok());
  ASSERT_TRUE(WriteRunTokenFile(JoinPath(run, "token"), kToken).ok());
  RunResult r = Run("status --run-dir " + run + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 1u) << r.out;
  EXPECT_EQ(r.lines[0]["source"], "scheduler");
  EXPECT_EQ(r.lines[0]["workers"].size(), 1u);
  EXPECT_EQ(r.lines[0]["stages"][0]["step"], 2);
}

TEST_F(StatusCliTest, RunDirFallsBackToTheFilesWhenTheSchedulerIsGone) {
  const std::string run = JoinPath(dir_, "run");
  auto yaml = ReadFile(std::string(R1_SOURCE_DIR) + "/configs/tiny-r1.yaml");
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  ASSERT_TRUE(MakeDirs(run).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(run, "run.yaml"), *yaml).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(run, "scheduler.addr"), address_ + "\n").ok());
  ASSERT_TRUE(WriteRunTokenFile(JoinPath(run, "token"), kToken).ok());
  server_.reset();  // the run's scheduler ended
  RunResult r = RunBounded("status --run-dir " + run + " --json", JoinPath(dir_, "out.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 1u) << r.out;
  EXPECT_FALSE(r.lines[0].contains("source"));
  EXPECT_FALSE(r.lines[0]["stages"].empty());
  EXPECT_EQ(r.lines[0]["stages"][0]["state"], "pending");
}

}  // namespace
}  // namespace r1
