// Stage loops against the fake worker: every prompt is rendered with the stage's template (the
// default "plain" unchanged), RUN_DIR/STAGE/template.txt records it, GRPO sends Dr.GRPO's
// constant (max_new_tokens), and overlong_filter leaves truncated rollouts out of the loss.
#include <fstream>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"
#include "pipeline/metrics.h"
#include "pipeline/run_dir.h"
#include "pipeline/templates.h"
#include "stages/stage.h"
#include "tests/stages/fake_worker.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

std::string TempDir(const std::string& name) {
  return testing_util::ScratchDir("stage_template_" + name);
}

// A prompt_answer JSONL file of `prompts` (reference "0", an R1-format solution).
std::string WriteData(const std::string& dir, const std::vector<std::string>& prompts) {
  std::string path = JoinPath(dir, "data.jsonl");
  std::ofstream out(path);
  for (const auto& p : prompts) {
    out << nlohmann::json{{"prompt", p},
                          {"answer", "0"},
                          {"solution", "<think>t</think><answer>0</answer>"}}
               .dump()
        << "\n";
  }
  return path;
}

struct Fixture {
  PipelineConfig config;
  std::unique_ptr<RunDir> run_dir;
  StageContext context;
};

// One stage "s" (`stage_yaml`) over dataset d at `data`, whose mapping gets `dataset_extra`.
std::unique_ptr<Fixture> Make(const std::string& dir, const std::string& data,
                              const std::string& dataset_extra, const std::string& stage_yaml,
                              WorkerClient* worker) {
  auto f = std::make_unique<Fixture>();
  std::string yaml = absl::StrCat("run: {name: t, seed: 7}\nmodel: {path: /models/base}\n",
                                  "datasets:\n  d: {path: ", data, ", format: prompt_answer",
                                  dataset_extra, "}\nstages:\n", stage_yaml);
  auto config = ParseConfig(yaml);
  EXPECT_TRUE(config.ok()) << config.status();
  f->config = *config;
  auto run_dir = RunDir::Create(JoinPath(dir, "run"), ConfigToYaml(f->config));
  EXPECT_TRUE(run_dir.ok()) << run_dir.status();
  f->run_dir = std::make_unique<RunDir>(*run_dir);
  f->context.config = &f->config;
  f->context.stage = &f->config.stages[0];
  f->context.run_dir = f->run_dir.get();
  f->context.worker = worker;
  f->context.model_dir = "/models/base";
  f->context.seed = 99;
  auto examples = ReadPromptAnswer(data);
  EXPECT_TRUE(examples.ok()) << examples.status();
  f->context.examples = *examples;
  return f;
}

std::string Text(const TokenSeq& ids) { return std::string(ids.begin(), ids.end()); }

std::string TemplateFile(const Fixture& f) {
  auto text = ReadFile(JoinPath(f.run_dir->StageDir("s"), "template.txt"));
  EXPECT_TRUE(text.ok()) << text.status();
  return text.value_or("");
}

const char kGrpo[] = R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 2
      prompts_per_step: 2
      group_size: 4
      max_new_tokens: 48
      kl_coef: 0
      loss_aggregation: constant
      rewards: [{name: accuracy, weight: 1.0}]
      checkpoint_every: 0
)";

TEST(StageTemplateTest, DefaultGrpoPromptsArePlainAndUnchanged) {
  const std::string dir = TempDir("plain");
  FakeWorker worker;
  std::set<std::string> prompts;
  worker.respond = [&](const std::string& prompt, uint64_t) {
    prompts.insert(prompt);
    return std::string("<think>t</think><answer>0</answer>");
  };
  auto f = Make(dir, WriteData(dir, {"1+1", "2+2"}), "", kGrpo, &worker);
  ASSERT_TRUE(RunStage(f->context).ok());
  // Exactly the text the stages rendered before templates were configurable.
  EXPECT_THAT(prompts,
              ::testing::UnorderedElementsAre("User: 1+1\nAssistant: ", "User: 2+2\nAssistant: "));
  EXPECT_EQ(TemplateFile(*f), "User: {prompt}\nAssistant: ");
  ASSERT_FALSE(worker.batches.empty());
  for (const TrainBatch& b : worker.batches) {
    EXPECT_EQ(b.policy_loss.token_sum_norm, 48.0);  // Dr.GRPO's constant: max_new_tokens
    EXPECT_EQ(b.responses.size(), 8u);
  }
}

TEST(StageTemplateTest, DatasetTemplateReachesGrpoPrompts) {
  const std::string dir = TempDir("r1_zero");
  FakeWorker worker;
  std::set<std::string> prompts;
  worker.respond = [&](const std::string& prompt, uint64_t) {
    prompts.insert(prompt);
    return std::string("<think>t</think><answer>0</answer>");
  };
  auto f = Make(dir, WriteData(dir, {"1+1"}), ", template: r1_zero", kGrpo, &worker);
  ASSERT_TRUE(RunStage(f->context).ok());
  const std::string expected = PromptTemplate::ByName("r1_zero")->RenderPrompt("1+1");
  EXPECT_THAT(prompts, ::testing::ElementsAre(expected));
  EXPECT_EQ(expected, absl::StrCat(kR1ZeroPreamble, " User: 1+1. Assistant:"));
  EXPECT_EQ(TemplateFile(*f), PromptTemplate::ByName("r1_zero")->RenderPrompt("{prompt}"));
}

TEST(StageTemplateTest, StageCustomTemplateOverridesTheDatasetsForSftAndEval) {
  const std::string dir = TempDir("custom");
  const std::string data = WriteData(dir, {"3+4"});
  FakeWorker sft_worker;
  auto sft = Make(JoinPath(dir, "sft"), data, ", template: chatml", R"(  - name: s
    type: sft
    template: "Q: {prompt}\nA: "
    inputs: {model: base, datasets: [d]}
    sft: {batch_size: 1, steps: 1}
)",
                  &sft_worker);
  ASSERT_TRUE(RunStage(sft->context).ok());
  ASSERT_EQ(sft_worker.batches.size(), 1u);
  EXPECT_EQ(Text(sft_worker.batches[0].prompts[0]), "Q: 3+4\nA: ");
  EXPECT_EQ(TemplateFile(*sft), "Q: {prompt}\nA: ");

  FakeWorker eval_worker;
  std::set<std::string> prompts;
  eval_worker.respond = [&](const std::string& prompt, uint64_t) {
    prompts.insert(prompt);
    return std::string("<think>t</think><answer>0</answer>");
  };
  auto eval = Make(JoinPath(dir, "eval"), data, ", template: chatml", R"(  - name: s
    type: eval
    inputs: {model: base, datasets: [d]}
    eval: {samples_per_prompt: 2}
)",
                   &eval_worker);
  ASSERT_TRUE(RunStage(eval->context).ok());
  EXPECT_THAT(prompts, ::testing::ElementsAre("<|im_start|>user\n3+4<|im_end|>\n"
                                              "<|im_start|>assistant\n"));
}

// The fake worker, with the rollouts of odd seeds (or all) marked truncated, as a rollout that
// reached max_new_tokens is.
class TruncatingWorker : public FakeWorker {
 public:
  bool all = false;
  absl::StatusOr<std::vector<Rollout>> Generate(
      const std::string& slot, const std::vector<RolloutRequest>& requests) override {
    auto out = FakeWorker::Generate(slot, requests);
    if (!out.ok()) return out;
    for (size_t i = 0; i < out->size(); ++i) {
      if (all || requests[i].sampling.seed % 2 == 1) {
        (*out)[i].truncated = true;
        (*out)[i].response.pop_back();  // no end-of-sequence token: cut off
      }
    }
    return out;
  }
};

// Responses right or wrong by seed, so that advantages are not all zero.
std::string BySeed(const std::string&, uint64_t seed) {
  return seed % 3 == 0 ? "<think>t</think><answer>0</answer>"
                       : "<think>t</think><answer>1</answer>";
}

TEST(StageTemplateTest, OverlongFilterLeavesTruncatedRolloutsOutOfTheLoss) {
  const std::string dir = TempDir("overlong");
  const std::string data = WriteData(dir, {"a", "b", "c"});
  std::string filtered_yaml = kGrpo;
  filtered_yaml += "      overlong_filter: true\n";

  TruncatingWorker off_worker;
  off_worker.respond = BySeed;
  auto off = Make(JoinPath(dir, "off"), data, "", kGrpo, &off_worker);
  ASSERT_TRUE(RunStage(off->context).ok());
  TruncatingWorker on_worker;
  on_worker.respond = BySeed;
  auto on = Make(JoinPath(dir, "on"), data, "", filtered_yaml, &on_worker);
  ASSERT_TRUE(RunStage(on->context).ok());

  ASSERT_EQ(off_worker.batches.size(), 2u);
  ASSERT_EQ(on_worker.batches.size(), 2u);
  auto on_metrics = ReadJsonlRecords(on->run_dir->MetricsPath("s"));
  auto off_metrics = ReadJsonlRecords(off->run_dir->MetricsPath("s"));
  ASSERT_TRUE(on_metrics.ok() && off_metrics.ok());
  for (size_t step = 0; step < 2; ++step) {
    const TrainBatch& all = off_worker.batches[step];
    const TrainBatch& kept = on_worker.batches[step];
    // Off (the default): every rollout trains, truncated ones included; nothing is logged.
    EXPECT_EQ(all.responses.size(), 8u);
    EXPECT_FALSE((*off_metrics)[step].contains("overlong_masked"));
    // On: the complete rollouts only, each with the advantage it had among its whole group.
    size_t truncated = 0;
    std::vector<float> complete_advantages;
    for (size_t i = 0; i < all.responses.size(); ++i) {
      if (all.responses[i].back() == FakeWorker::kEos) {
        complete_advantages.push_back(all.advantages[i]);
      } else {
        ++truncated;
      }
    }
    ASSERT_GT(truncated, 0u);
    EXPECT_EQ(kept.responses.size(), all.responses.size() - truncated);
    for (const TokenSeq& r : kept.responses) EXPECT_EQ(r.back(), FakeWorker::kEos);
    EXPECT_EQ(kept.advantages, complete_advantages);
    EXPECT_EQ((*on_metrics)[step]["overlong_masked"].get<double>(), static_cast<double>(truncated));
  }

  // Every rollout truncated: no update at all; the steps still run and log.
  TruncatingWorker cut_worker;
  cut_worker.all = true;
  cut_worker.respond = BySeed;
  auto cut = Make(JoinPath(dir, "cut"), data, "", filtered_yaml, &cut_worker);
  ASSERT_TRUE(RunStage(cut->context).ok());
  EXPECT_TRUE(cut_worker.batches.empty());
  auto cut_metrics = ReadJsonlRecords(cut->run_dir->MetricsPath("s"));
  ASSERT_TRUE(cut_metrics.ok());
  ASSERT_EQ(cut_metrics->size(), 2u);
  EXPECT_EQ((*cut_metrics)[0]["overlong_masked"].get<double>(), 8.0);
}

}  // namespace
}  // namespace r1
