// The synthetic code tasks against the real code reward (sandboxed Python): every generated
// solution passes its own tests and a wrong program does not; an eval stage over code examples
// grades its samples with the code reward (pass@1 = share of samples passing every test).
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/file_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pipeline/config.h"
#include "pipeline/run_dir.h"
#include "pipeline/synthetic_code.h"
#include "stages/rewards/code.h"
#include "stages/stage.h"
#include "tests/stages/fake_worker.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

// Params of the code reward for these tests: uids apart from the other sandbox tests' (ctest -j).
nlohmann::json CodeParams() { return {{"timeout_s", 5}, {"max_parallel", 2}, {"uid_base", 61320}}; }

class SyntheticCodeSolutionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "/usr/bin/python3 is not installed";
    setenv("R1_SANDBOX_EXEC", R1_BINARY_DIR "/cli/r1-sandbox-exec", 1);
  }
};

TEST_F(SyntheticCodeSolutionsTest, EverySolutionPassesItsTests) {
  absl::StatusOr<std::unique_ptr<RuleReward>> code = MakeCodeReward(CodeParams());
  ASSERT_TRUE(code.ok()) << code.status();
  // Two examples of each template (a sandboxed run takes a fraction of a second).
  std::vector<Example> examples;
  for (const std::string& task : CodeTaskNames()) {
    CodeTaskOptions o;
    o.tasks = {task};
    absl::StatusOr<std::vector<Example>> some = GenerateCodeTasks(o, 11, 2);
    ASSERT_TRUE(some.ok()) << some.status();
    examples.insert(examples.end(), some->begin(), some->end());
  }
  for (const Example& ex : examples) {
    RewardInput input;
    input.prompt = ex.prompt;
    input.response = ex.solution;
    input.reference = ex.reference;
    absl::StatusOr<RewardValue> value = (*code)->Compute(input);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_DOUBLE_EQ(value->value, 1.0) << ex.prompt << "\n"
                                        << ex.solution << "\n"
                                        << value->details.dump();
    // A program that prints "?" (no expected output is) fails.
    const std::string wrong = "<think>t</think><answer>```python\nprint('?')\n```</answer>";
    input.response = wrong;
    absl::StatusOr<RewardValue> low = (*code)->Compute(input);
    ASSERT_TRUE(low.ok()) << low.status();
    EXPECT_DOUBLE_EQ(low->value, 0.0) << ex.reference;
  }
}

TEST_F(SyntheticCodeSolutionsTest, EvalGradesCodeSamplesWithTheCodeReward) {
  const std::string dir = testing_util::ScratchDir("synthetic_code_eval");
  const std::string yaml = absl::StrCat(R"(run: {name: t, seed: 7}
model: {path: /models/base}
datasets:
  code: {synthetic: {kind: code, count: 4, seed: 5}}
stages:
  - name: e
    type: eval
    inputs: {model: base, datasets: [code]}
    eval:
      samples_per_prompt: 2
      code: )",
                                        CodeParams().dump(), "\n");
  absl::StatusOr<PipelineConfig> config = ParseConfig(yaml);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<RunDir> run_dir = RunDir::Create(JoinPath(dir, "run"), ConfigToYaml(*config));
  ASSERT_TRUE(run_dir.ok()) << run_dir.status();
  // Two "linear" examples, answered with their gold solution, and two "reverse" ones, answered
  // with a program that prints a constant.
  CodeTaskOptions linear, reverse;
  linear.tasks = {"linear"};
  reverse.tasks = {"reverse"};
  absl::StatusOr<std::vector<Example>> examples = GenerateCodeTasks(linear, 5, 2);
  absl::StatusOr<std::vector<Example>> wrong = GenerateCodeTasks(reverse, 5, 2);
  ASSERT_TRUE(examples.ok() && wrong.ok());
  examples->insert(examples->end(), wrong->begin(), wrong->end());
  FakeWorker worker;
  worker.respond = [&](const std::string& prompt, uint64_t) -> std::string {
    for (size_t i = 0; i < 2; ++i) {
      if (prompt.find((*examples)[i].prompt) != std::string::npos) return (*examples)[i].solution;
    }
    return "<think>t</think><answer>```python\nprint(-1)\n```</answer>";
  };
  StageContext context;
  context.config = &*config;
  context.stage = &config->stages[0];
  context.run_dir = &*run_dir;
  context.worker = &worker;
  context.model_dir = "/models/base";
  context.seed = 3;
  context.examples = *examples;
  absl::StatusOr<StageResult> result = RunStage(context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_DOUBLE_EQ(result->summary["pass@1"], 0.5);
  EXPECT_DOUBLE_EQ(result->summary["maj@k"], 0.5);
  auto report = ReadFile(result->output);
  ASSERT_TRUE(report.ok());
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(*report)["tasks"]["code"]["pass@1"].get<double>(), 0.5);
}

TEST_F(SyntheticCodeSolutionsTest, EvalRefusesBadCodeParams) {
  const std::string dir = testing_util::ScratchDir("synthetic_code_eval_bad");
  absl::StatusOr<PipelineConfig> config = ParseConfig(R"(run: {name: t, seed: 7}
model: {path: /models/base}
datasets:
  code: {synthetic: {kind: code, count: 2, seed: 5}}
stages:
  - {name: e, type: eval, inputs: {model: base, datasets: [code]}, eval: {code: {mode: most}}}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<RunDir> run_dir = RunDir::Create(JoinPath(dir, "run"), ConfigToYaml(*config));
  ASSERT_TRUE(run_dir.ok()) << run_dir.status();
  FakeWorker worker;
  StageContext context;
  context.config = &*config;
  context.stage = &config->stages[0];
  context.run_dir = &*run_dir;
  context.worker = &worker;
  context.model_dir = "/models/base";
  auto examples = GenerateCodeTasks(CodeTaskOptions{}, 5, 2);
  ASSERT_TRUE(examples.ok());
  context.examples = *examples;
  absl::StatusOr<StageResult> result = RunStage(context);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("eval.code"), std::string::npos) << result.status();
}

}  // namespace
}  // namespace r1
