// A pipeline over mutual TLS through the real binary (cluster.tls with the throwaway certificates
// of tests/data/tls): `r1 run` launches its `r1 worker` with mpirun and both services speak TLS;
// `r1 status --run-dir` and `r1 cancel --run-dir` reach the live scheduler with the run's
// certificate (from RUN_DIR/run.yaml); a client without TLS and one whose certificate another CA
// signed are refused; `--resume` finishes the pipeline. The run's token never appears in any file
// of the run directory (but `token`), in any output, or in any error message. Loopback only; every
// wait is bounded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/file_util.h"
#include "tests/run_r1.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using testing_util::MergedOutput;
using testing_util::R1Process;
using testing_util::R1Result;
using testing_util::RunR1;
using testing_util::StartR1;

const std::string kTlsDir = std::string(R1_SOURCE_DIR) + "/tests/data/tls";

constexpr char kConfig[] = R"(run: {name: tls, seed: 5}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
cluster:
  heartbeat_interval_s: 0.5
  worker_timeout_s: 10
  max_stage_attempts: 1
  tls: {cert: TLS/node1.pem, key: TLS/node1.key, ca: TLS/ca1.pem}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 32, seed: 1, options: {max_digits: 1}}}
  prompts: {synthetic: {kind: arithmetic, count: 32, seed: 2, options: {max_digits: 1}}}
  held_out: {synthetic: {kind: arithmetic, count: 2, seed: 9, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {optimizer: {lr: 3.0e-3}, batch_size: 4, steps: 4, checkpoint_every: 4}
  - name: grpo
    type: grpo
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [prompts]}
    grpo: {optimizer: {lr: 1.0e-3}, steps: 600, checkpoint_every: 2, prompts_per_step: 1,
           group_size: 2, max_new_tokens: 8}
  - name: eval
    type: eval
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [held_out]}
    eval: {samples_per_prompt: 1, max_new_tokens: 8}
)";

// Lines of `run_dir`/`stage`/metrics.jsonl (0 when absent).
int MetricLines(const std::string& run_dir, const std::string& stage) {
  std::string text = ReadFile(JoinPath(run_dir, stage + "/metrics.jsonl")).value_or("");
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Every regular file under `dir`, recursively.
void ListFiles(const std::string& dir, std::vector<std::string>* out) {
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    const std::string path = JoinPath(dir, name);
    if (IsDirectory(path)) {
      ListFiles(path, out);
    } else {
      out->push_back(path);
    }
  }
}

class TlsRunTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_util::ScratchDir("r1_tls"); }

  // `r1 ARGS`, stdout and stderr together; the output is kept for the token check.
  R1Result Run(const std::string& args) {
    R1Result r = RunR1(args, MergedOutput());
    outputs_.push_back(args + "\n" + r.out);
    return r;
  }

  std::string dir_;
  std::vector<std::string> outputs_;  // everything r1 printed in this test
};

TEST_F(TlsRunTest, PipelineOverMutualTlsRefusesStrangersAndNeverShowsTheToken) {
  const std::string config = JoinPath(dir_, "tls.yaml");
  ASSERT_TRUE(WriteFileAtomic(config, absl::StrReplaceAll(kConfig, {{"TLS", kTlsDir}})).ok());
  const std::string run_dir = JoinPath(dir_, "run");
  R1Result validated = Run("validate " + config);
  ASSERT_EQ(validated.exit_code, 0) << validated.out;

  // 1. The run, until the GRPO stage has logged a few steps over TLS.
  R1Process run = StartR1("run " + config + " --run-dir " + run_dir, MergedOutput());
  bool stepping = false;
  for (absl::Time end = absl::Now() + absl::Minutes(3); !stepping && absl::Now() < end;) {
    stepping = MetricLines(run_dir, "grpo") >= 2;
    if (!stepping && !run.process->running()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (!stepping) {
    R1Result failed = run.Finish();
    FAIL() << "no GRPO steps over TLS:\n"
           << failed.out << ReadFile(JoinPath(run_dir, "workers.log")).value_or("");
  }
  const std::string token(
      absl::StripTrailingAsciiWhitespace(ReadFile(JoinPath(run_dir, "token")).value_or("")));
  const std::string address(absl::StripTrailingAsciiWhitespace(
      ReadFile(JoinPath(run_dir, "scheduler.addr")).value_or("")));
  ASSERT_EQ(token.size(), 64u);
  ASSERT_FALSE(address.empty());

  // 2. `r1 status --run-dir` reaches the live scheduler (workers are listed only from there) with
  // the certificate named in RUN_DIR/run.yaml.
  R1Result status = Run("status --run-dir " + run_dir);
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_THAT(status.out, HasSubstr("heartbeat"));
  EXPECT_THAT(status.out, HasSubstr("trainer,rollout"));

  // 3. The right token without TLS: refused (no handshake), the token does not help.
  const std::string token_file = JoinPath(run_dir, "token");
  R1Result plain = Run("status --scheduler " + address + " --token-file " + token_file);
  EXPECT_EQ(plain.exit_code, 1) << plain.out;
  EXPECT_THAT(plain.out, HasSubstr("cannot reach the scheduler at " + address));
  // A certificate another CA signed (it trusts the run's CA, so only the server can refuse it).
  R1Result other_ca = Run("status --scheduler " + address + " --token-file " + token_file +
                          " --tls-cert " + kTlsDir + "/node2.pem --tls-key " + kTlsDir +
                          "/node2.key --tls-ca " + kTlsDir + "/ca1.pem");
  EXPECT_EQ(other_ca.exit_code, 1) << other_ca.out;
  EXPECT_THAT(other_ca.out, HasSubstr("cannot reach the scheduler at " + address));
  // The same flags with the run's certificate get through.
  R1Result with_flags = Run("status --scheduler " + address + " --token-file " + token_file +
                            " --tls-cert " + kTlsDir + "/node1.pem --tls-key " + kTlsDir +
                            "/node1.key --tls-ca " + kTlsDir + "/ca1.pem --json");
  EXPECT_EQ(with_flags.exit_code, 0) << with_flags.out;
  EXPECT_THAT(with_flags.out, HasSubstr("\"workers\""));
  // 4. `r1 cancel --run-dir` over TLS stops the run; `--resume` (TLS again) finishes it.
  R1Result cancel = Run("cancel --run-dir " + run_dir + " --reason tls-test");
  EXPECT_EQ(cancel.exit_code, 0) << cancel.out;
  R1Result cancelled = run.Finish();
  // A worker given a file it cannot read says which flag and which file.
  R1Result bad_path = Run("worker --scheduler " + address + " --token-file " + token_file +
                          " --tls-cert /nonexistent/node.pem --tls-key " + kTlsDir +
                          "/node1.key --tls-ca " + kTlsDir + "/ca1.pem");
  EXPECT_EQ(bad_path.exit_code, 1) << bad_path.out;
  EXPECT_THAT(bad_path.out, HasSubstr("--tls-cert: cannot read /nonexistent/node.pem"));
  outputs_.push_back(cancelled.out);
  EXPECT_EQ(cancelled.exit_code, 1) << cancelled.out;
  EXPECT_THAT(cancelled.out, HasSubstr("run cancelled: tls-test"));
  R1Result resumed = Run("run --resume " + run_dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out
                                  << ReadFile(JoinPath(run_dir, "workers.log")).value_or("");
  EXPECT_THAT(resumed.out, HasSubstr("[eval] succeeded"));
  EXPECT_EQ(MetricLines(run_dir, "grpo"), 600);
  R1Result final_status = Run("status --run-dir " + run_dir);
  EXPECT_EQ(final_status.exit_code, 0) << final_status.out;

  // 5. The token appears nowhere but RUN_DIR/token: no log, checkpoint, report, or output.
  std::vector<std::string> files;
  ListFiles(run_dir, &files);
  ASSERT_GT(files.size(), 10u);
  bool saw_workers_log = false;
  for (const std::string& path : files) {
    if (path == token_file) continue;
    saw_workers_log |= absl::EndsWith(path, "/workers.log");
    EXPECT_FALSE(absl::StrContains(ReadFile(path).value_or(""), token)) << "token in " << path;
  }
  EXPECT_TRUE(saw_workers_log);
  EXPECT_GT(ReadFile(JoinPath(run_dir, "workers.log")).value_or("").size(), 0u);
  for (const std::string& output : outputs_) {
    EXPECT_FALSE(absl::StrContains(output, token)) << "token in the output of:\n" << output;
  }
}

}  // namespace
}  // namespace r1
