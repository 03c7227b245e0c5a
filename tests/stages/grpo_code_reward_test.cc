// A GRPO stage with the code reward against the fake worker: the rollouts' programs run in the
// sandbox, the rewards are the shares of tests passed, and the step metrics count the tests by
// outcome (reward_count/code/<outcome>).
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "pipeline/config.h"
#include "pipeline/metrics.h"
#include "pipeline/run_dir.h"
#include "stages/stage.h"
#include "tests/stages/fake_worker.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

TEST(GrpoCodeRewardTest, ProgramsAreRunAndOutcomesCounted) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "/usr/bin/python3 is not installed";
  setenv("R1_SANDBOX_EXEC", R1_BINARY_DIR "/cli/r1-sandbox-exec", 1);
  const std::string dir = testing_util::ScratchDir("grpo_code_reward");
  const std::string tests =
      R"([{"input": "2\n", "output": "4\n"}, {"input": "5\n", "output": "10\n"}])";
  const std::string data = JoinPath(dir, "data.jsonl");
  {
    std::ofstream out(data);
    out << nlohmann::json{{"prompt", "double it"}, {"answer", tests}}.dump() << "\n";
  }
  const std::string yaml =
      absl::StrCat("run: {name: t, seed: 7}\nmodel: {path: /models/base}\n",
                   "datasets:\n  d: {path: ", data, ", format: prompt_answer}\n", R"(stages:
  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 1
      prompts_per_step: 1
      group_size: 4
      kl_coef: 0
      rewards: [{name: code, params: {timeout_s: 2, max_parallel: 2, uid_base: 61300}}]
)");
  absl::StatusOr<PipelineConfig> config = ParseConfig(yaml);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<RunDir> run_dir = RunDir::Create(JoinPath(dir, "run"), ConfigToYaml(*config));
  ASSERT_TRUE(run_dir.ok()) << run_dir.status();
  FakeWorker worker;
  // Seed by seed: right, off by one on every input, a crash, an infinite loop.
  worker.respond = [](const std::string&, uint64_t seed) -> std::string {
    const char* bodies[] = {"print(int(input()) * 2)", "print(int(input()) * 2 + 1)",
                            "raise SystemExit(3)", "while True:\n    pass"};
    return absl::StrCat("<think>t</think><answer>```python\n", bodies[seed % 4], "\n```</answer>");
  };
  StageContext context;
  context.config = &*config;
  context.stage = &config->stages[0];
  context.run_dir = &*run_dir;
  context.worker = &worker;
  context.model_dir = "/models/base";
  context.seed = 99;
  absl::StatusOr<std::vector<Example>> examples = ReadPromptAnswer(data);
  ASSERT_TRUE(examples.ok()) << examples.status();
  context.examples = *examples;
  absl::StatusOr<StageResult> result = RunStage(context);
  ASSERT_TRUE(result.ok()) << result.status();

  absl::StatusOr<std::vector<nlohmann::json>> lines = ReadJsonlRecords(run_dir->MetricsPath("s"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 1u);
  const nlohmann::json& m = (*lines)[0];
  // 4 rollouts x 2 tests; which seeds the fake worker saw decides the mix, not the totals.
  EXPECT_EQ(m["reward_count/code/tests"].get<double>(), 8);
  const double passed = m["reward_count/code/passed"].get<double>();
  const double sum = passed + m["reward_count/code/wrong_answer"].get<double>() +
                     m["reward_count/code/runtime_error"].get<double>() +
                     m["reward_count/code/timeout"].get<double>();
  EXPECT_EQ(sum, 8);
  EXPECT_EQ(m["reward_count/code/sandbox_error"].get<double>(), 0);
  EXPECT_NEAR(m["reward/code"].get<double>(), passed / 8, 1e-9);
}

}  // namespace
}  // namespace r1
