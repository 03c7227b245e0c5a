// A checkpoint write that fails (RLIMIT_FSIZE here; a full disk gives ENOSPC the same way) ends the
// stage with an error naming the file, never leaves a checkpoint that a resume would trust, and a
// resume with room ends with the weights of a run that never failed. r1 is started through bash
// (`ulimit -f`, SIGXFSZ ignored so that write returns EFBIG) with posix_spawn; nothing forks a
// process that runs LibTorch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/file_util.h"
#include "base/subprocess.h"
#include "tests/run_r1.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// One pretrain stage, checkpointed at step 10 of 20: model.safetensors is ~70 KB, optimizer.pt
// ~160 KB; every log file stays far below 60 KB.
constexpr char kConfig[] = R"(run: {name: disk_full, seed: 11}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
cluster: {launcher: in_process, max_stage_attempts: 1}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 64, seed: 1, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {optimizer: {lr: 3.0e-3}, batch_size: 8, steps: 20, checkpoint_every: 10}
)";

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/r1_disk_full_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_ = JoinPath(dir_, "disk_full.yaml");
    ASSERT_TRUE(WriteFileAtomic(config_, kConfig).ok());
  }
  void TearDown() override {
    if (!HasFailure()) RemoveAll(dir_).IgnoreError();
  }

  // `r1 run CONFIG --run-dir RUN_DIR` with every file it writes limited to `kib` KiB.
  std::pair<int, std::string> RunLimited(const std::string& run_dir, int kib) {
    const std::string log = JoinPath(dir_, absl::StrCat("limited_", kib, ".log"));
    SpawnOptions options;
    options.log_file = log;
    options.env = {{"OPENBLAS_NUM_THREADS", "1"}, {"R1_THREADS", "1"}};
    absl::StatusOr<Subprocess> p = Subprocess::Spawn(
        {"bash", "-c", absl::StrCat("trap '' XFSZ; ulimit -f ", kib, "; exec \"$0\" \"$@\""),
         R1_BINARY_DIR "/cli/r1", "run", config_, "--run-dir", run_dir},
        options);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return {-1, ""};
    absl::StatusOr<ExitInfo> exit = p->Wait(absl::Minutes(5));
    if (!exit.ok()) p->Terminate(absl::Seconds(5));
    const int code = exit.ok() && exit->exited ? exit->exit_code : -1;
    return {code, ReadFile(log).value_or("")};
  }

  // The run's output weights.
  static std::string Weights(const std::string& run_dir) {
    return ReadFile(JoinPath(run_dir, "pretrain/output/model.safetensors")).value_or("missing");
  }

  // Checks one limit: the write of `file` fails, and what that leaves behind.
  void ExpectFailedSaveThenExactResume(int kib, const std::string& file) {
    const std::string reference = JoinPath(dir_, "reference");
    if (!PathExists(reference)) {
      testing_util::R1Result ok = testing_util::RunR1("run " + config_ + " --run-dir " + reference);
      ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
    }
    const std::string run_dir = JoinPath(dir_, absl::StrCat("limited_", kib));
    auto [code, output] = RunLimited(run_dir, kib);
    // A clear error naming the file (not an abort, not a hang).
    ASSERT_EQ(code, 1) << output;
    EXPECT_THAT(output, HasSubstr("[pretrain] attempt 1 failed: write "));
    // (model.safetensors is written as a temporary file beside its final name.)
    EXPECT_THAT(output, ::testing::ContainsRegex("/" + file + "(\\.tmp-[0-9-]+)?: File too large"));
    EXPECT_THAT(output, HasSubstr("r1 run: stage pretrain failed"));
    // Nothing under checkpoints/: the half-written staging directory is gone, and no step-NNNNNN
    // directory exists for a resume to trust.
    absl::StatusOr<std::vector<std::string>> left =
        ListDir(JoinPath(run_dir, "pretrain/checkpoints"));
    ASSERT_TRUE(left.ok()) << left.status();
    EXPECT_THAT(*left, IsEmpty());

    // With room again, the resume starts the stage over and ends exactly where an uninterrupted
    // run ends.
    testing_util::R1Result resumed = testing_util::RunR1("run --resume " + run_dir);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
    EXPECT_TRUE(Weights(run_dir) == Weights(reference))
        << "resumed weights differ from the uninterrupted run's";
  }

  std::string dir_;
  std::string config_;
};

// The optimizer state goes through LibTorch's archive writer, which used to abort the whole
// process (an exception thrown from its destructor) on a short write.
TEST_F(DiskFullTest, AFailingOptimizerWriteEndsTheStageWithAnErrorNamingTheFile) {
  ExpectFailedSaveThenExactResume(100, "optimizer.pt");
}

TEST_F(DiskFullTest, AFailingWeightsWriteEndsTheStageWithAnErrorNamingTheFile) {
  ExpectFailedSaveThenExactResume(60, "model.safetensors");
}

}  // namespace
}  // namespace r1
