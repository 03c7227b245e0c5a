// `r1 run` end to end with real models: a shortened R1 pipeline using every stage type (pretrain,
// sft, grpo with rule rewards, rejection sampling, reward model, grpo with a reward model, eval)
// must succeed, write the report and journal, `r1 status` must show it, and a second `--resume`
// must do nothing.
#include <cmath>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_r1.h"
#include "tests/test_util.h"
#include "tests/tfevents_reader.h"

namespace r1 {
namespace {

using testing_util::MergedOutput;
using testing_util::R1Result;
using testing_util::RunR1;

using ::testing::HasSubstr;

const char kMiniR1[] = R"(run: {name: mini, seed: 5}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
cluster: {max_stage_attempts: 1}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 112, seed: 1, options: {max_digits: 1}}}
  chat_corpus: {synthetic: {kind: non_reasoning, count: 144, seed: 13}}
  prompts: {synthetic: {kind: arithmetic, count: 64, seed: 2, options: {max_digits: 1}}}
  chat: {synthetic: {kind: non_reasoning, count: 16, seed: 3}}
  pairs: {synthetic: {kind: preference, count: 16, seed: 4}}
  held_out: {synthetic: {kind: arithmetic, count: 4, seed: 9, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus, chat_corpus]}
    pretrain: {optimizer: {lr: 1.0e-2}, batch_size: 16, steps: 100, checkpoint_every: 10}
  # The base answers in the R1 format about 3 times in 4 (its corpus mixes formatted arithmetic
  # with plain chat): the format reward has signal, and GRPO visibly raises it.
  - name: grpo
    type: grpo
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [prompts]}
    grpo:
      optimizer: {lr: 3.0e-3}
      steps: 16
      prompts_per_step: 4
      group_size: 8
      max_new_tokens: 32
      kl_coef: 0.01
      rewards: [{name: format}, {name: accuracy, weight: 0.1}]
  - name: rs
    type: rejection_sampling
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [prompts]}
    rejection_sampling:
      samples_per_prompt: 2
      max_new_tokens: 24
      filters: {require_format: false}
  - name: sft
    type: sft
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [chat]}
    sft: {batch_size: 4, steps: 3}
  - name: rm
    type: reward_model
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [pairs]}
    reward_model: {batch_size: 4, steps: 3}
  - name: grpo_all
    type: grpo
    depends_on: [sft, rm]
    inputs: {model: "stage:sft", datasets: [prompts, chat]}
    grpo:
      steps: 1
      prompts_per_step: 2
      group_size: 2
      max_new_tokens: 16
      kl_coef: 0
      rewards: [{name: format}, {name: reward_model, scope: answer, model: "stage:rm"}]
  - name: eval
    type: eval
    depends_on: [grpo_all]
    inputs: {model: "stage:grpo_all", datasets: [held_out]}
    eval: {samples_per_prompt: 2, max_new_tokens: 24}
)";

// RUN_DIR/tensorboard/STAGE holds one event file (read by the independent reader of
// tests/tfevents_reader.h) whose summary events are the lines of STAGE/metrics.jsonl: the same
// steps in the same order, each value as a float (JSON's null, for NaN/inf, a non-finite float).
void ExpectEventsMatchMetrics(const std::string& run_dir, const std::string& stage) {
  SCOPED_TRACE("stage " + stage);
  absl::StatusOr<std::string> text = ReadFile(JoinPath(run_dir, stage + "/metrics.jsonl"));
  ASSERT_TRUE(text.ok()) << text.status();
  std::vector<nlohmann::json> lines;
  for (size_t pos = 0, nl; (nl = text->find('\n', pos)) != std::string::npos; pos = nl + 1) {
    lines.push_back(nlohmann::json::parse(text->substr(pos, nl - pos)));
  }
  ASSERT_FALSE(lines.empty());
  std::vector<testing_util::DecodedEvent> events;
  std::string error;
  ASSERT_TRUE(
      testing_util::ReadOnlyEventFileIn(JoinPath(run_dir, "tensorboard/" + stage), &events, &error))
      << error;
  ASSERT_EQ(events.size(), lines.size() + 1);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  for (size_t i = 0; i < lines.size(); ++i) {
    const testing_util::DecodedEvent& event = events[i + 1];
    EXPECT_EQ(event.step, lines[i]["step"].get<int64_t>());
    EXPECT_EQ(event.values.size() + 2, lines[i].size());  // the line also has step and time_ms
    for (const auto& [tag, value] : event.values) {
      ASSERT_TRUE(lines[i].contains(tag)) << tag;
      const nlohmann::json& logged = lines[i][tag];
      if (logged.is_null()) {
        EXPECT_FALSE(std::isfinite(value)) << tag;
      } else {
        EXPECT_EQ(value, static_cast<float>(logged.get<double>())) << tag;
      }
    }
  }
}

TEST(RunCliTest, EveryStageTypeRunsAndResumeSkipsThem) {
  const std::string dir = testing_util::ScratchDir("run_test");
  std::string config = JoinPath(dir, "mini.yaml");
  ASSERT_TRUE(WriteFileAtomic(config, kMiniR1).ok());
  std::string run_dir = JoinPath(dir, "run");

  R1Result r = RunR1("run " + config + " --run-dir " + run_dir, MergedOutput());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("[grpo] succeeded"));
  EXPECT_THAT(r.out, HasSubstr("pass@1"));
  for (const char* stage : {"pretrain", "grpo", "rs", "sft", "rm", "grpo_all"}) {
    EXPECT_TRUE(PathExists(JoinPath(run_dir, std::string(stage) + "/output"))) << stage;
  }
  EXPECT_TRUE(PathExists(JoinPath(run_dir, "pretrain/output/model.safetensors")));
  EXPECT_TRUE(PathExists(JoinPath(run_dir, "pretrain/checkpoints/step-000010/optimizer.pt")));
  EXPECT_TRUE(PathExists(JoinPath(run_dir, "rs/output/data.jsonl")));
  EXPECT_TRUE(PathExists(JoinPath(run_dir, "grpo/samples.jsonl")));
  // The RL stage learned: mean reward of its last 4 steps above that of its first 4.
  auto grpo_metrics = ReadFile(JoinPath(run_dir, "grpo/metrics.jsonl"));
  ASSERT_TRUE(grpo_metrics.ok());
  std::vector<double> rewards;
  for (const nlohmann::json& step : testing_util::JsonLines(*grpo_metrics)) {
    rewards.push_back(step["reward_mean"].get<double>());
  }
  ASSERT_EQ(rewards.size(), 16u);
  const double first = (rewards[0] + rewards[1] + rewards[2] + rewards[3]) / 4;
  const double last = (rewards[12] + rewards[13] + rewards[14] + rewards[15]) / 4;
  EXPECT_GT(last, first + 0.05) << *grpo_metrics;
  auto report = ReadFile(JoinPath(run_dir, "report.json"));
  ASSERT_TRUE(report.ok());
  nlohmann::json j = nlohmann::json::parse(*report);
  ASSERT_EQ(j["evals"].size(), 1u);
  EXPECT_EQ(j["evals"][0]["stage"], "eval");
  EXPECT_TRUE(j["evals"][0]["values"].contains("pass@1"));
  // The HTML report, written at the run's end (here by `r1 run` with mpirun-launched workers).
  auto html = ReadFile(JoinPath(run_dir, "report.html"));
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, HasSubstr("data-stage=\"grpo_all\""));
  EXPECT_THAT(*html, HasSubstr("<span id=\"run-state\">succeeded</span>"));
  // Every stage that logs metrics has them as TensorBoard events too.
  for (const char* stage : {"pretrain", "grpo", "rs", "sft", "rm", "grpo_all"}) {
    ExpectEventsMatchMetrics(run_dir, stage);
  }

  R1Result status = RunR1("status --run-dir " + run_dir + " --json", MergedOutput());
  ASSERT_EQ(status.exit_code, 0) << status.out;
  nlohmann::json snap = nlohmann::json::parse(status.out);
  EXPECT_TRUE(snap["succeeded"].get<bool>());
  ASSERT_EQ(snap["stages"].size(), 7u);
  EXPECT_EQ(snap["stages"][0]["name"], "pretrain");  // DAG order
  EXPECT_EQ(snap["stages"][0]["step"], 100);
  EXPECT_EQ(snap["stages"][0]["total_steps"], 100);
  for (const auto& stage : snap["stages"]) EXPECT_EQ(stage["state"], "succeeded") << stage.dump();
  R1Result table = RunR1("status --run-dir " + run_dir, MergedOutput());
  EXPECT_THAT(table.out, HasSubstr("grpo_all"));
  EXPECT_EQ(RunR1("status --run-dir " + JoinPath(dir, "nope"), MergedOutput()).exit_code, 1);

  R1Result again = RunR1("run --resume " + run_dir, MergedOutput());
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_THAT(again.out, HasSubstr("[pretrain] already succeeded; skipped"));
  EXPECT_THAT(again.out, ::testing::Not(HasSubstr("started")));
  for (const char* stage : {"pretrain", "grpo_all"}) {
    ExpectEventsMatchMetrics(run_dir, stage);  // the skipped stages left their events alone
  }

  R1Result bad = RunR1("run " + JoinPath(dir, "missing.yaml"), MergedOutput());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.out, HasSubstr("missing.yaml"));
}

}  // namespace
}  // namespace r1
