// `r1 run` with code prompts end to end: pretraining and SFT of a tiny model on the synthetic code
// tasks (short Python programs over stdin, pipeline/synthetic_code.h), a GRPO stage rewarded by the
// code reward (the rollouts' programs run in the sandbox) and an eval stage graded by it. Checks
// that the run finishes, that every GRPO step counts the tests by outcome (reward_count/code/...)
// and that the eval reports pass@1. Like the other code-reward tests it needs /usr/bin/python3 and
// skips without it; it needs the sandbox's network isolation (CI has it) and fails without it.
#include <unistd.h>

#include <string>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_r1.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using testing_util::MergedOutput;
using testing_util::R1Result;
using testing_util::RunR1;

using ::testing::HasSubstr;

// Reward params: uids apart from the other sandbox tests' (ctest -j).
const char kCodePipeline[] = R"(run: {name: code, seed: 3}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
cluster: {launcher: in_process, max_stage_attempts: 1}
datasets:
  code_sft: {synthetic: {kind: code, count: 256, seed: 1}}
  code_prompts: {synthetic: {kind: code, count: 16, seed: 2}}
  code_eval: {synthetic: {kind: code, count: 4, seed: 9}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [code_sft]}
    pretrain: {optimizer: {lr: 1.0e-2}, batch_size: 16, steps: 150, max_seq_len: 256}
  - name: sft
    type: sft
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [code_sft]}
    sft: {optimizer: {lr: 1.0e-2}, batch_size: 8, steps: 20, max_seq_len: 256}
  - name: grpo
    type: grpo
    depends_on: [sft]
    inputs: {model: "stage:sft", datasets: [code_prompts]}
    grpo:
      steps: 2
      prompts_per_step: 2
      group_size: 4
      max_new_tokens: 96
      kl_coef: 0
      rewards:
        - {name: code, params: {timeout_s: 5, max_parallel: 2, uid_base: 61330}}
        - {name: format, weight: 0.1}
  - name: eval
    type: eval
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [code_eval]}
    eval:
      samples_per_prompt: 2
      max_new_tokens: 96
      code: {timeout_s: 5, max_parallel: 2, uid_base: 61340}
)";

TEST(CodePipelineTest, SftGrpoAndEvalWithTheCodeReward) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "/usr/bin/python3 is not installed";
  const std::string dir = testing_util::ScratchDir("code_pipeline_test");
  const std::string config = JoinPath(dir, "code.yaml");
  ASSERT_TRUE(WriteFileAtomic(config, kCodePipeline).ok());
  const std::string run_dir = JoinPath(dir, "run");

  R1Result r = RunR1("run " + config + " --run-dir " + run_dir, MergedOutput());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("[eval] succeeded"));

  // Every GRPO step ran each rollout's program on each of its prompt's tests: the outcomes add up
  // to the tests, and none is the sandbox's fault.
  auto metrics = ReadFile(JoinPath(run_dir, "grpo/metrics.jsonl"));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  std::vector<nlohmann::json> steps = testing_util::JsonLines(*metrics);
  ASSERT_EQ(steps.size(), 2u) << *metrics;
  double no_code = 0;
  for (const nlohmann::json& m : steps) {
    const double tests = m["reward_count/code/tests"].get<double>();
    EXPECT_GE(tests, 2 * 4 * 2) << m.dump();  // 8 rollouts, at least 2 tests each
    double outcomes = 0;
    for (const char* o : {"passed", "wrong_answer", "timeout", "runtime_error", "compile_error"}) {
      outcomes += m[std::string("reward_count/code/") + o].get<double>();
    }
    // A rollout without a code block runs none of its tests.
    EXPECT_LE(outcomes, tests) << m.dump();
    EXPECT_EQ(m["reward_count/code/sandbox_error"].get<double>(), 0) << m.dump();
    no_code += m["reward_count/code/no_code"].get<double>();
    EXPECT_TRUE(m.contains("reward/code")) << m.dump();
  }

  // The trained model writes a code block in some rollouts: programs did run in the sandbox.
  EXPECT_LT(no_code, 16) << *metrics;

  auto eval = ReadFile(JoinPath(run_dir, "eval/output/eval.json"));
  ASSERT_TRUE(eval.ok()) << eval.status();
  nlohmann::json e = nlohmann::json::parse(*eval);
  ASSERT_TRUE(e["pass@1"].is_number()) << e.dump();
  EXPECT_GE(e["pass@1"].get<double>(), 0.0);
  EXPECT_LE(e["pass@1"].get<double>(), 1.0);
  EXPECT_EQ(e["tasks"]["code"]["problems"], 4) << e.dump();
}

}  // namespace
}  // namespace r1
