// A device the workers cannot have is a configuration error, not a fault: with cluster.device
// cuda on a machine where CUDA cannot be had (here: CUDA_VISIBLE_DEVICES empty, on top of Debian's
// CPU-only LibTorch), `r1 run` (mpirun workers, or the in-process worker) and `r1 scheduler` with
// a hand-started `r1 worker --device cuda` end within seconds with exit status 1 and one line on
// stderr naming the worker and the reason — no relaunch, no second attempt. Loopback only; every
// wait is bounded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/file_util.h"
#include "tests/run_r1.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing_util::R1Result;

constexpr char kConfig[] = R"(run: {name: dev, seed: 3}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 64}
  tokenizer: byte
  dtype: DTYPE
cluster: {CLUSTER, device: cuda, max_stage_attempts: 3, heartbeat_interval_s: 0.5,
          worker_timeout_s: 10}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 16, seed: 1, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {batch_size: 4, steps: 2}
)";

// Either reason ResolveWorkerDevice gives when CUDA cannot be had.
const char kReason[] =
    "cannot use device cuda: (this LibTorch was built without CUDA|no CUDA device is visible "
    "to this process \\(CUDA_VISIBLE_DEVICES=\\))";

class DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/r1_device_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure()) RemoveAll(dir_).IgnoreError();
  }

  std::string WriteConfig(const std::string& cluster, const std::string& dtype = "float32") {
    const std::string path = JoinPath(dir_, "dev.yaml");
    EXPECT_TRUE(WriteFileAtomic(
                    path, absl::StrReplaceAll(kConfig, {{"CLUSTER", cluster}, {"DTYPE", dtype}}))
                    .ok());
    return path;
  }

  // Starts `r1 ARGS` (stdout to NAME.out, stderr to NAME.err) where no CUDA device is visible;
  // Finish waits for it at most 90 s.
  testing_util::R1Process Start(const std::string& args, const std::string& name) {
    testing_util::R1Options options;
    options.stdout_path = JoinPath(dir_, name + ".out");
    options.stderr_path = JoinPath(dir_, name + ".err");
    options.env = {{"CUDA_VISIBLE_DEVICES", ""}};
    options.timeout = absl::Seconds(90);
    return testing_util::StartR1(args, options);
  }

  R1Result Run(const std::string& args) {
    return Start(args, absl::StrCat("run", ++runs_)).Finish();
  }

  // The lines of a run's output (without empty ones).
  static std::vector<std::string> Lines(const std::string& text) {
    return absl::StrSplit(text, '\n', absl::SkipEmpty());
  }

  std::string dir_;
  int runs_ = 0;
};

TEST_F(DeviceTest, MpirunWorkersThatCannotHaveCudaEndTheRunAtOnceWithOneLine) {
  const std::string config =
      WriteConfig("launcher: mpirun, backend: mpi, trainer_ranks: 2", "bfloat16");
  const std::string run_dir = JoinPath(dir_, "run");
  R1Result o = Run("run " + config + " --run-dir " + run_dir);
  const std::string context =
      absl::StrCat("stdout:\n", o.out, "\nstderr:\n", o.err, "\nworkers.log:\n",
                   ReadFile(JoinPath(run_dir, "workers.log")).value_or(""));
  EXPECT_EQ(o.exit_code, 1) << context;
  EXPECT_LT(o.seconds, 30) << context;
  // One line on stderr: "r1 run: worker rank R (host H) cannot use device cuda: REASON".
  const std::vector<std::string> lines = Lines(o.err);
  ASSERT_EQ(lines.size(), 1u) << context;
  EXPECT_THAT(lines[0],
              MatchesRegex(absl::StrCat("r1 run: worker rank [01] \\(host [^)]+\\) ", kReason)))
      << context;
  // Neither relaunched nor retried.
  EXPECT_THAT(o.out, HasSubstr("launched 2 workers: mpirun -np 2")) << context;
  EXPECT_THAT(o.out, HasSubstr("--device cuda --dtype bfloat16")) << context;
  EXPECT_THAT(o.out, Not(HasSubstr("relaunched"))) << context;
  EXPECT_THAT(o.out, Not(HasSubstr("attempt 2"))) << context;
  const std::string journal = ReadFile(JoinPath(run_dir, "journal")).value_or("");
  EXPECT_THAT(journal, HasSubstr("\"attempt\":1")) << journal;
  EXPECT_THAT(journal, Not(HasSubstr("\"attempt\":2"))) << journal;
  // The workers said why, too.
  EXPECT_THAT(ReadFile(JoinPath(run_dir, "workers.log")).value_or(""),
              HasSubstr("cannot use device cuda"))
      << context;
}

TEST_F(DeviceTest, TheInProcessWorkerThatCannotHaveCudaFailsWithOneLine) {
  R1Result o =
      Run("run " + WriteConfig("launcher: in_process") + " --run-dir " + JoinPath(dir_, "run"));
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_LT(o.seconds, 30);
  const std::vector<std::string> lines = Lines(o.err);
  ASSERT_EQ(lines.size(), 1u) << o.err;
  EXPECT_THAT(lines[0],
              MatchesRegex(absl::StrCat("r1 run: in-process worker \\(host [^)]+\\) ", kReason)));
}

TEST_F(DeviceTest, AnExternalWorkerThatCannotHaveCudaEndsTheSchedulerWithOneLine) {
  const std::string config = WriteConfig("mode: external, launcher: srun, backend: mpi");
  const std::string run_dir = JoinPath(dir_, "run");
  testing_util::R1Process scheduler =
      Start("scheduler " + config + " --run-dir " + run_dir + " --wait-workers 120", "scheduler");
  std::string address;
  for (absl::Time end = absl::Now() + absl::Seconds(60); address.empty() && absl::Now() < end;) {
    address = std::string(absl::StripTrailingAsciiWhitespace(
        ReadFile(JoinPath(run_dir, "scheduler.addr")).value_or("")));
    if (address.empty()) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_FALSE(address.empty());
  R1Result worker = Run(absl::StrCat("worker --scheduler ", address, " --token-file ",
                                     JoinPath(run_dir, "token"), " --device cuda"));
  EXPECT_EQ(worker.exit_code, 1) << worker.err;
  EXPECT_THAT(worker.err, HasSubstr("cannot use device cuda"));
  R1Result o = scheduler.Finish();
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_LT(o.seconds, 30) << o.out << o.err;
  const std::vector<std::string> lines = Lines(o.err);
  ASSERT_EQ(lines.size(), 1u) << o.err;
  // Started without a launcher, the worker has no rank: its id names it.
  EXPECT_THAT(lines[0],
              MatchesRegex(absl::StrCat("r1 scheduler: worker w0 \\(host [^)]+\\) ", kReason)));
  EXPECT_THAT(o.out, Not(HasSubstr("attempt 2")));
}

TEST_F(DeviceTest, WorkerFlagsAreChecked) {
  R1Result bad_device = Run("worker --scheduler 127.0.0.1:1 --device gpu");
  EXPECT_EQ(bad_device.exit_code, 2);
  EXPECT_THAT(bad_device.err, HasSubstr("cpu, cuda, cuda:N"));
  R1Result bad_dtype = Run("worker --scheduler 127.0.0.1:1 --dtype float16");
  EXPECT_EQ(bad_dtype.exit_code, 2);
  EXPECT_THAT(bad_dtype.err, HasSubstr("--dtype must be float32 or bfloat16"));
}

}  // namespace
}  // namespace r1
