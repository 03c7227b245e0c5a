// Stage control loops against the fake worker: SFT resume reproduces the uninterrupted batches,
// GRPO's dynamic sampling trains only groups with signal, eval arithmetic, rejection filters.
#include <unistd.h>

#include <fstream>
#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"
#include "pipeline/metrics.h"
#include "pipeline/run_dir.h"
#include "stages/sampling_stages.h"
#include "stages/stage.h"
#include "stages/stage_util.h"
#include "tests/stages/fake_worker.h"
#include "tests/test_util.h"
#include "tests/tfevents_reader.h"

namespace r1 {
namespace {

std::string TempDir(const std::string& name) {
  return testing_util::ScratchDir("stage_loops_" + name);
}

// A FakeWorker responder: the right answer ("0") for the seeds where `right(seed)`, else "1".
std::function<std::string(const std::string&, uint64_t)> RightWhen(bool (*right)(uint64_t)) {
  return [right](const std::string&, uint64_t seed) {
    return std::string(right(seed) ? "<think>t</think><answer>0</answer>"
                                   : "<think>t</think><answer>1</answer>");
  };
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

// Parses `stage_yaml` (one stage named "s") around a dataset at `data` and prepares a context.
// `cluster_yaml`, when given, is the config's cluster section ("cluster: {...}\n").
std::unique_ptr<Fixture> Make(const std::string& dir, const std::string& data,
                              const std::string& stage_yaml, FakeWorker* worker,
                              const std::string& cluster_yaml = "") {
  auto f = std::make_unique<Fixture>();
  std::string yaml = absl::StrCat("run: {name: t, seed: 7}\nmodel: {path: /models/base}\n",
                                  cluster_yaml, "datasets:\n  d: {path: ", data,
                                  ", format: prompt_answer}\n", "stages:\n", stage_yaml);
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

TEST(DataCursorTest, EveryEpochIsAPermutation) {
  DataCursor cursor(5, 3);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> seen;
    for (int i = 0; i < 5; ++i) seen.push_back(cursor.At(epoch * 5 + i));
    EXPECT_THAT(seen, ::testing::UnorderedElementsAre(0, 1, 2, 3, 4));
  }
  DataCursor again(5, 3);
  EXPECT_EQ(again.At(7), DataCursor(5, 3).At(7));  // a pure function of (position, seed)
}

TEST(EvalMathTest, PassAt1AndMajorityByHand) {
  // Problem 1: 2 of 4 right; majority "5" (2 votes, seen first) is right.
  // Problem 2: 1 of 4 right; majority "7" (3 votes) is wrong.
  // Problem 3: 0 of 4, no answers at all.
  std::vector<ProblemSamples> problems = {
      {{true, false, true, false}, {"5", "6", "5", "6"}},
      {{false, false, true, false}, {"7", "7", "3", "7"}},
      {{false, false, false, false}, {"", "", "", ""}},
  };
  EXPECT_DOUBLE_EQ(PassAt1(problems), (0.5 + 0.25 + 0.0) / 3.0);
  EXPECT_DOUBLE_EQ(MajorityAtK(problems), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(PassAt1({}), 0.0);
}

TEST(SupervisedStageTest, ResumeAfterCrashReplaysTheSameBatches) {
  const std::string stage = R"(  - name: s
    type: sft
    inputs: {model: base, datasets: [d]}
    sft: {batch_size: 2, micro_batch_size: 1, micro_batch_tokens: 300, steps: 6,
          checkpoint_every: 2, log_every: 1}
)";
  std::string dir = TempDir("resume");
  std::string data = WriteData(dir, {"a", "b", "c", "d", "e"});

  FakeWorker plain;
  auto full = Make(JoinPath(dir, "full"), data, stage, &plain);
  ASSERT_TRUE(RunStage(full->context).ok());
  ASSERT_EQ(plain.batches.size(), 6u);
  EXPECT_EQ(plain.batches[0].micro_batch_size, 1);  // the worker's passes, as configured
  EXPECT_EQ(plain.batches[0].micro_batch_tokens, 300);

  FakeWorker crashing;
  crashing.fail_at_step = 3;
  auto broken = Make(JoinPath(dir, "broken"), data, stage, &crashing);
  auto first = RunStage(broken->context);
  ASSERT_FALSE(first.ok());
  EXPECT_THAT(std::string(first.status().message()), ::testing::HasSubstr("step 3"));
  ASSERT_EQ(crashing.batches.size(), 3u);  // steps 0, 1, 2
  auto second = RunStage(broken->context);
  ASSERT_TRUE(second.ok()) << second.status();
  // The resumed attempt starts from the step-2 checkpoint and replays steps 2..5 exactly.
  EXPECT_THAT(crashing.loads.back(), ::testing::HasSubstr("checkpoints/step-000002"));
  ASSERT_EQ(crashing.batches.size(), 3u + 4u);
  for (int i = 0; i < 4; ++i) {
    const TrainBatch& resumed = crashing.batches[3 + i];
    const TrainBatch& reference = plain.batches[2 + i];
    EXPECT_EQ(resumed.step, reference.step);
    EXPECT_EQ(resumed.prompts, reference.prompts);
    EXPECT_EQ(resumed.responses, reference.responses);
  }
  // Responses end with the end-of-sequence id; the output was saved.
  EXPECT_EQ(plain.batches[0].responses[0].back(), FakeWorker::kEos);
  EXPECT_EQ(second->output, broken->run_dir->OutputDir("s"));
  // Steps 1..6 are each logged once, although step 3 ran in both attempts.
  auto lines = ReadJsonlRecords(broken->run_dir->MetricsPath("s"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ((*lines)[i]["step"], i + 1);
  // So are their TensorBoard events, in the one event file the first attempt made.
  std::vector<testing_util::DecodedEvent> events;
  std::string error;
  ASSERT_TRUE(
      testing_util::ReadOnlyEventFileIn(broken->run_dir->TensorBoardDir("s"), &events, &error))
      << error;
  EXPECT_EQ(testing_util::SummarySteps(events), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(SupervisedStageTest, CorruptNewestCheckpointFallsBackToAnOlderOne) {
  const std::string stage = R"(  - name: s
    type: sft
    inputs: {model: base, datasets: [d]}
    sft: {batch_size: 2, steps: 6, checkpoint_every: 2, log_every: 1}
)";
  std::string dir = TempDir("corrupt");
  std::string data = WriteData(dir, {"a", "b", "c", "d", "e"});
  FakeWorker plain;
  auto full = Make(JoinPath(dir, "full"), data, stage, &plain);
  ASSERT_TRUE(RunStage(full->context).ok());

  FakeWorker crashing;
  crashing.fail_at_step = 5;  // checkpoints at steps 2 and 4 exist when it fails
  auto broken = Make(JoinPath(dir, "broken"), data, stage, &crashing);
  std::vector<std::string> notices;
  broken->context.log = [&](const std::string& line) { notices.push_back(line); };
  ASSERT_FALSE(RunStage(broken->context).ok());
  const std::string newest = broken->run_dir->CheckpointDir("s", 4);
  // Damaged later, keeping its size ("{}" before).
  ASSERT_TRUE(WriteFileAtomic(JoinPath(newest, "config.json"), "{]").ok());
  auto second = RunStage(broken->context);
  ASSERT_TRUE(second.ok()) << second.status();
  // Resumed from step 2, the newest intact checkpoint; step 4's is kept aside, not deleted.
  EXPECT_THAT(crashing.loads.back(), ::testing::HasSubstr("checkpoints/step-000002"));
  EXPECT_TRUE(PathExists(newest + ".corrupt-1"));
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_THAT(notices[0], ::testing::HasSubstr("config.json: SHA-256"));
  EXPECT_THAT(notices[0], ::testing::HasSubstr("set aside as " + newest + ".corrupt-1"));
  EXPECT_EQ(notices[1], "resuming after step 2 from " + broken->run_dir->CheckpointDir("s", 2));
  // Exact resume holds through the fallback: the replayed batches are the uninterrupted ones, and
  // every step is logged once.
  ASSERT_EQ(crashing.batches.size(), 5u + 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(crashing.batches[5 + i].prompts, plain.batches[2 + i].prompts);
  }
  auto lines = ReadJsonlRecords(broken->run_dir->MetricsPath("s"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ((*lines)[i]["step"], i + 1);
}

TEST(SupervisedStageTest, NoTrustworthyCheckpointStartsTheStageOver) {
  const std::string stage = R"(  - name: s
    type: sft
    inputs: {model: base, datasets: [d]}
    sft: {batch_size: 2, steps: 4, checkpoint_every: 2, log_every: 1}
)";
  std::string dir = TempDir("untrusted");
  std::string data = WriteData(dir, {"a", "b", "c"});
  FakeWorker crashing;
  crashing.fail_at_step = 3;
  auto broken = Make(JoinPath(dir, "broken"), data, stage, &crashing);
  ASSERT_FALSE(RunStage(broken->context).ok());
  // The manifest of the only checkpoint is gone (as after a crash between the files and it).
  ASSERT_TRUE(RemoveAll(JoinPath(broken->run_dir->CheckpointDir("s", 2), "manifest.json")).ok());
  auto second = RunStage(broken->context);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(crashing.loads.back(), ::testing::EndsWith("<-/models/base"));  // step 0
  auto lines = ReadJsonlRecords(broken->run_dir->MetricsPath("s"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 4u);
}

TEST(GrpoStageTest, DynamicSamplingTrainsOnlyGroupsWithSignal) {
  const std::string stage = R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 3
      prompts_per_step: 2
      group_size: 4
      kl_coef: 0
      dynamic_sampling: true
      rewards: [{name: accuracy, weight: 1.0}]
      checkpoint_every: 0
)";
  std::string dir = TempDir("grpo");
  std::string data = WriteData(dir, {"easy one", "easy two", "hard one", "hard two"});
  FakeWorker worker;
  // Easy prompts are always answered right (a uniform group); hard ones half the time.
  worker.respond = [](const std::string& prompt, uint64_t seed) {
    bool right = prompt.find("easy") != std::string::npos || seed % 2 == 0;
    return std::string(right ? "<think>t</think><answer>0</answer>"
                             : "<think>t</think><answer>1</answer>");
  };
  auto f = Make(dir, data, stage, &worker);
  auto result = RunStage(f->context);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_FALSE(worker.batches.empty());
  for (const TrainBatch& batch : worker.batches) {
    ASSERT_EQ(batch.objective, TrainBatch::Objective::kPolicyGradient);
    ASSERT_EQ(batch.advantages.size() % 4, 0u);
    for (size_t g = 0; g < batch.advantages.size(); g += 4) {
      bool signal = false;
      for (size_t j = 0; j < 4; ++j) signal |= batch.advantages[g + j] != 0.0f;
      EXPECT_TRUE(signal) << "a group without signal was trained on";
    }
    // One update per step over the whole batch: on-policy, no old-policy log-probs sent.
    EXPECT_TRUE(batch.old_logprobs.empty());
    EXPECT_TRUE(batch.ref_logprobs.empty());  // kl_coef 0: no reference model
  }
  auto lines = ReadJsonlRecords(f->run_dir->MetricsPath("s"));
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 3u);
  EXPECT_TRUE((*lines)[0].contains("reward_mean"));
  EXPECT_TRUE((*lines)[0].contains("generate_seconds"));
  // accuracy is the policy's (first round, easy groups included); trained_accuracy is over the
  // groups kept, which never include an always-right easy group.
  double fresh = 0, trained = 0;
  for (const auto& line : *lines) {
    ASSERT_TRUE(line.contains("accuracy") && line.contains("trained_accuracy"));
    fresh += line["accuracy"].get<double>();
    trained += line["trained_accuracy"].get<double>();
  }
  EXPECT_GT(fresh, trained);
  EXPECT_GT((*lines)[0]["uniform_groups"].get<double>() +
                (*lines)[1]["uniform_groups"].get<double>() +
                (*lines)[2]["uniform_groups"].get<double>(),
            0.0);
  for (const auto& load : worker.loads)
    EXPECT_THAT(load, ::testing::Not(::testing::HasSubstr("reference")));
}

// Several updates per batch (mini-batches, epochs): the later ones are off-policy, so every
// update gets the old-policy log-probs computed before the first.
TEST(GrpoStageTest, OffPolicyUpdatesGetOldLogprobs) {
  const std::string stage = R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 2
      prompts_per_step: 2
      group_size: 2
      ppo_epochs: 2
      mini_batch_size: 2
      micro_batch_tokens: 640
      kl_coef: 0
      rewards: [{name: accuracy, weight: 1.0}]
      checkpoint_every: 0
)";
  std::string dir = TempDir("grpo_off_policy");
  std::string data = WriteData(dir, {"a", "b", "c"});
  FakeWorker worker;
  worker.respond = RightWhen([](uint64_t seed) { return seed % 2 == 0; });
  auto f = Make(dir, data, stage, &worker);
  auto result = RunStage(f->context);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(worker.batches.size(), 8u);  // 2 steps x 2 epochs x 2 mini-batches
  for (const TrainBatch& batch : worker.batches) {
    ASSERT_EQ(batch.responses.size(), 2u);
    EXPECT_EQ(batch.old_logprobs.size(), batch.responses.size());
    EXPECT_EQ(batch.micro_batch_tokens, 640);
    EXPECT_EQ(batch.micro_batch_size, 0);
  }
}

// The old-policy and reference log-probs, and the policy the update trains, are all at the
// rollout temperature.
TEST(GrpoStageTest, LogprobsAndTheLossUseTheRolloutTemperature) {
  auto run_at = [](const std::string& temperature, FakeWorker& worker) {
    const std::string stage = absl::StrCat(R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 1
      prompts_per_step: 2
      group_size: 2
      ppo_epochs: 2
      kl_coef: 0.01
      temperature: )",
                                           temperature, R"(
      rewards: [{name: accuracy, weight: 1.0}]
      checkpoint_every: 0
)");
    std::string dir = TempDir("grpo_temperature_" + temperature);
    std::string data = WriteData(dir, {"a", "b"});
    worker.respond = RightWhen([](uint64_t seed) { return seed % 2 == 0; });
    auto f = Make(dir, data, stage, &worker);
    auto result = RunStage(f->context);
    ASSERT_TRUE(result.ok()) << result.status();
  };
  FakeWorker tempered;
  run_at("0.7", tempered);
  ASSERT_EQ(tempered.logprob_temperatures.size(), 2u);  // policy (off-policy epochs), reference
  for (float t : tempered.logprob_temperatures) EXPECT_FLOAT_EQ(t, 0.7f);
  ASSERT_FALSE(tempered.batches.empty());
  for (const TrainBatch& batch : tempered.batches) {
    EXPECT_FLOAT_EQ(static_cast<float>(batch.policy_loss.temperature), 0.7f);
  }
  FakeWorker plain;
  run_at("1.0", plain);
  for (float t : plain.logprob_temperatures) EXPECT_EQ(t, 1.0f);
}

// negative_advantage_scale multiplies only the advantages below 0 (0: learn from the better
// samples only).
TEST(GrpoStageTest, NegativeAdvantageScaleWeighsWorseSamples) {
  auto advantages_with = [](const std::string& scale) {
    const std::string stage = absl::StrCat(R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 1
      prompts_per_step: 2
      group_size: 4
      kl_coef: 0
      negative_advantage_scale: )",
                                           scale, R"(
      rewards: [{name: accuracy, weight: 1.0}]
      checkpoint_every: 0
)");
    std::string dir = TempDir("grpo_negative_" + scale);
    std::string data = WriteData(dir, {"a", "b"});
    FakeWorker worker;
    worker.respond = RightWhen([](uint64_t seed) { return seed % 4 == 0; });
    auto f = Make(dir, data, stage, &worker);
    auto result = RunStage(f->context);
    EXPECT_TRUE(result.ok()) << result.status();
    return worker.batches.empty() ? std::vector<float>{} : worker.batches[0].advantages;
  };
  const std::vector<float> plain = advantages_with("1.0");
  const std::vector<float> half = advantages_with("0.5");
  const std::vector<float> none = advantages_with("0");
  ASSERT_EQ(plain.size(), 8u);
  ASSERT_EQ(half.size(), 8u);
  ASSERT_EQ(none.size(), 8u);
  int negatives = 0, positives = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    if (plain[i] < 0) {
      ++negatives;
      EXPECT_FLOAT_EQ(half[i], 0.5f * plain[i]);
      EXPECT_FLOAT_EQ(none[i], 0.0f);
    } else {
      positives += plain[i] > 0;
      EXPECT_FLOAT_EQ(half[i], plain[i]);
      EXPECT_FLOAT_EQ(none[i], plain[i]);
    }
  }
  EXPECT_GT(negatives, 0);
  EXPECT_GT(positives, 0);
}

TEST(GrpoStageTest, ResumeReloadsTheReferenceRefreshedBeforeTheCheckpoint) {
  const std::string stage = R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 6
      prompts_per_step: 2
      group_size: 2
      kl_coef: 0.1
      reference_refresh_every: 2
      checkpoint_every: 3
      rewards: [{name: accuracy, weight: 1.0}]
)";
  std::string dir = TempDir("grpo_refresh");
  std::string data = WriteData(dir, {"a", "b", "c"});
  FakeWorker worker;
  worker.respond = RightWhen([](uint64_t seed) { return seed % 2 == 0; });
  worker.fail_at_step = 4;
  auto f = Make(dir, data, stage, &worker);
  ASSERT_FALSE(RunStage(f->context).ok());
  // References refreshed at steps 2 and 4; the step-3 checkpoint made step 2's the one to keep.
  const std::string refs = JoinPath(f->run_dir->StageDir("s"), "reference");
  EXPECT_TRUE(PathExists(JoinPath(refs, "step-000002")));
  worker.loads.clear();
  auto second = RunStage(f->context);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_GE(worker.loads.size(), 2u);
  EXPECT_THAT(worker.loads[0], ::testing::HasSubstr("checkpoints/step-000003"));
  // Resumed at step 3: the reference is the policy refreshed at step 2, not the base model.
  EXPECT_EQ(worker.loads[1], "reference<-" + JoinPath(refs, "step-000002"));
  EXPECT_EQ(worker.loads.back(), "reference<-" + JoinPath(refs, "step-000006"));
}

constexpr char kAsyncStage[] = R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 5
      prompts_per_step: 2
      group_size: 2
      kl_coef: 0
      max_staleness: 1
      importance_cap: 3
      checkpoint_every: 2
      rewards: [{name: accuracy, weight: 1.0}]
)";
constexpr char kDisaggregated[] = "cluster: {placement: disaggregated, rollout_workers: 1}\n";

// The metric `key` of every line of the stage's metrics.jsonl, in order.
std::vector<double> MetricColumn(const RunDir& run_dir, const std::string& stage,
                                 const std::string& key) {
  std::vector<double> out;
  std::ifstream in(JoinPath(run_dir.StageDir(stage), "metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    out.push_back(j.contains(key) ? j[key].get<double>() : -1.0);
  }
  return out;
}

// Asynchronous RL: the rollouts of step n+1 are sampled while step n trains (the fake's second
// Generate blocks until the first TrainStep, which a sequential loop would never reach), with the
// weights step n started from; every update gets those rollouts' log-probs as the behaviour
// policy and the importance cap; weights are synced only while no Generate runs.
TEST(GrpoStageTest, AsyncRlSamplesTheNextStepWhileThisOneTrains) {
  std::string dir = TempDir("grpo_async");
  std::string data = WriteData(dir, {"a", "b", "c"});
  FakeWorker worker;
  worker.generate_apart = true;
  worker.require_overlap = true;
  worker.respond = RightWhen([](uint64_t seed) { return seed % 2 == 0; });
  auto f = Make(dir, data, kAsyncStage, &worker, kDisaggregated);
  auto result = RunStage(f->context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(worker.overlap_timeouts, 0) << "a step's sampling did not overlap the previous update";
  EXPECT_EQ(worker.syncs_during_generate, 0);
  ASSERT_EQ(worker.batches.size(), 5u);
  for (int64_t step = 0; step < 5; ++step) {
    const TrainBatch& batch = worker.batches[static_cast<size_t>(step)];
    EXPECT_EQ(batch.step, step);
    EXPECT_DOUBLE_EQ(batch.policy_loss.importance_cap, 3.0);
    ASSERT_EQ(batch.behaviour_logprobs.size(), batch.responses.size());
    // Step 0 samples with the input model (version 0); step n >= 1 with the weights after n - 1
    // updates.
    const float version = static_cast<float>(std::max<int64_t>(step - 1, 0));
    for (size_t i = 0; i < batch.responses.size(); ++i) {
      ASSERT_EQ(batch.behaviour_logprobs[i].size(), batch.responses[i].size());
      EXPECT_FLOAT_EQ(batch.behaviour_logprobs[i][0], -1.0f - 0.01f * version) << "step " << step;
    }
  }
  EXPECT_THAT(MetricColumn(*f->run_dir, "s", "staleness"), ::testing::ElementsAre(0, 1, 1, 1, 1));
  for (double wait : MetricColumn(*f->run_dir, "s", "rollout_wait_seconds")) EXPECT_GE(wait, 0.0);
}

// A checkpoint of an asynchronous stage holds the rollouts already sampled for its step; a
// resumed stage trains on them (it does not sample that step again) and then on the same
// rollouts, from the same weights versions, as an uninterrupted stage.
TEST(GrpoStageTest, AsyncRlResumesOnTheRolloutsItCheckpointed) {
  std::string dir = TempDir("grpo_async_resume");
  std::string data = WriteData(dir, {"a", "b", "c"});
  auto respond = [](const std::string& prompt, uint64_t seed) {
    return absl::StrCat("<think>", prompt, "</think><answer>", seed % 3 == 0 ? "0" : "1",
                        "</answer>");
  };
  FakeWorker straight;
  straight.generate_apart = true;
  straight.respond = respond;
  auto full = Make(JoinPath(dir, "full"), data, kAsyncStage, &straight, kDisaggregated);
  ASSERT_TRUE(RunStage(full->context).ok());

  FakeWorker crashing;
  crashing.generate_apart = true;
  crashing.respond = respond;
  crashing.fail_at_step = 3;
  auto broken = Make(JoinPath(dir, "broken"), data, kAsyncStage, &crashing, kDisaggregated);
  ASSERT_FALSE(RunStage(broken->context).ok());
  const std::string checkpoint = broken->run_dir->CheckpointDir("s", 2);
  ASSERT_TRUE(PathExists(JoinPath(checkpoint, "pending_rollouts.json")));
  const int64_t generated_before = crashing.generated;
  const size_t trained_before = crashing.batches.size();
  auto resumed = RunStage(broken->context);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  // Steps 2, 3, 4 trained again; only steps 3 and 4 sampled (2 prompts x 2 each).
  EXPECT_EQ(crashing.generated - generated_before, 8);
  ASSERT_EQ(crashing.batches.size() - trained_before, 3u);
  for (size_t k = 0; k < 3; ++k) {
    const TrainBatch& want = straight.batches[2 + k];
    const TrainBatch& got = crashing.batches[trained_before + k];
    EXPECT_EQ(got.step, want.step);
    EXPECT_EQ(got.prompts, want.prompts);
    EXPECT_EQ(got.responses, want.responses);
    EXPECT_EQ(got.advantages, want.advantages);
    EXPECT_EQ(got.behaviour_logprobs, want.behaviour_logprobs) << "step " << want.step;
  }
}

// Rollouts streamed in any order are scored (rule rewards, while the others decode) into the same
// rewards and advantages as rollouts handed over all at once, in order.
class ReverseStreamingWorker : public FakeWorker {
 public:
  absl::Status GenerateStreaming(const std::string& slot,
                                 const std::vector<RolloutRequest>& requests,
                                 const RolloutSink& sink) override {
    absl::StatusOr<std::vector<Rollout>> all = Generate(slot, requests);
    if (!all.ok()) return all.status();
    for (size_t i = all->size(); i-- > 0;) {
      absl::Status s = sink(i, std::move((*all)[i]));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

TEST(GrpoStageTest, RolloutsScoredAsTheyStreamInTrainLikeABatch) {
  const std::string stage = R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 3
      prompts_per_step: 2
      group_size: 4
      kl_coef: 0
      checkpoint_every: 0
      rewards: [{name: accuracy, weight: 1.0}, {name: format, weight: 0.5}]
)";
  std::string dir = TempDir("grpo_streamed");
  std::string data = WriteData(dir, {"a", "b", "c"});
  auto respond = [](const std::string&, uint64_t seed) {
    return seed % 3 == 0   ? std::string("<think>t</think><answer>0</answer>")
           : seed % 3 == 1 ? std::string("<answer>1</answer>")
                           : std::string("0");
  };
  FakeWorker batch;
  batch.respond = respond;
  auto f1 = Make(JoinPath(dir, "batch"), data, stage, &batch);
  ASSERT_TRUE(RunStage(f1->context).ok());
  ReverseStreamingWorker streamed;
  streamed.respond = respond;
  auto f2 = Make(JoinPath(dir, "streamed"), data, stage, &streamed);
  ASSERT_TRUE(RunStage(f2->context).ok());
  ASSERT_EQ(batch.batches.size(), streamed.batches.size());
  for (size_t i = 0; i < batch.batches.size(); ++i) {
    EXPECT_EQ(batch.batches[i].responses, streamed.batches[i].responses);
    EXPECT_EQ(batch.batches[i].advantages, streamed.batches[i].advantages);
  }
  EXPECT_EQ(MetricColumn(*f1->run_dir, "s", "reward_mean"),
            MetricColumn(*f2->run_dir, "s", "reward_mean"));
  for (double s : MetricColumn(*f2->run_dir, "s", "reward_overlapped_seconds")) EXPECT_GE(s, 0.0);
}

// A worker group whose rollout workers are also its trainers cannot sample while it trains.
TEST(GrpoStageTest, AsyncRlNeedsRolloutWorkersApartFromTheTrainers) {
  std::string dir = TempDir("grpo_async_colocated");
  std::string data = WriteData(dir, {"a", "b"});
  FakeWorker worker;  // generate_apart false
  auto f = Make(dir, data, kAsyncStage, &worker, kDisaggregated);
  auto result = RunStage(f->context);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(),
              ::testing::HasSubstr("stage s: grpo.max_staleness > 0 needs rollout workers apart "
                                   "from the trainers (cluster.placement: disaggregated)"));
  EXPECT_TRUE(worker.batches.empty());
}

TEST(GrpoStageTest, RuleRewardsScoreReasoningPromptsAndRewardModelsGeneralOnes) {
  const std::string stage = R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 1
      prompts_per_step: 3
      group_size: 2
      kl_coef: 0
      rewards: [{name: accuracy}, {name: reward_model, weight: 2.0, model: /rm}]
)";
  std::string dir = TempDir("grpo_scopes");
  std::string data = WriteData(dir, {"a", "b"});
  FakeWorker worker;  // answers "0" (right for the reasoning prompts); its reward model says 0.25
  auto f = Make(dir, data, stage, &worker);
  Example general;
  general.prompt = "say hi";
  general.reference = "hi";  // gradeable, but a general prompt: accuracy does not apply
  general.reasoning = false;
  f->context.examples.push_back(general);
  f->context.reward_model_dirs[1] = "/rm";
  auto result = RunStage(f->context);
  ASSERT_TRUE(result.ok()) << result.status();
  auto lines = ReadJsonlRecords(f->run_dir->MetricsPath("s"));
  ASSERT_TRUE(lines.ok());
  const nlohmann::json& m = (*lines)[0];
  // Reasoning rollouts: accuracy 1, no reward model; general ones: 2 * 0.25, no accuracy.
  EXPECT_NEAR(m["reward_mean"].get<double>(), (2 * 1.0 + 0.5) / 3, 1e-9);
  EXPECT_NEAR(m["accuracy"].get<double>(), 1.0, 1e-9);  // over reasoning prompts only
  EXPECT_NEAR(m["reward/reward_model1"].get<double>(), 0.25 / 3, 1e-9);
}

// Reward models while the rollouts decode (WorkerClient::CanScoreWhileGenerating): two reward
// models, one for every prompt and one for general prompts on the final answer, over two
// reasoning prompts and a general one.
constexpr char kRewardModelStage[] = R"(  - name: s
    type: grpo
    inputs: {model: base, datasets: [d]}
    grpo:
      steps: 2
      prompts_per_step: 3
      group_size: 2
      kl_coef: 0
      checkpoint_every: 0
      rewards:
        - {name: accuracy}
        - {name: reward_model, weight: 2.0, model: /rm, applies_to: all}
        - {name: reward_model, weight: 0.5, model: /rm2, scope: answer}
)";

// Rollouts of different lengths and answers (but one text for prompt "same", whose groups are
// uniform), and reward-model scores that differ with them.
void ScoreByContent(FakeWorker* worker) {
  worker->respond = [](const std::string& prompt, uint64_t seed) {
    if (prompt.find("same") != std::string::npos) return std::string("<answer>0</answer>");
    return absl::StrCat("<think>", std::string(seed % 5, 'x'), "</think><answer>",
                        seed % 2 == 0 ? "0" : "1", "</answer>");
  };
  worker->score = [](const TokenSeq& prompt, const TokenSeq& response) {
    int64_t sum = 0;
    for (int32_t t : response) sum += t;
    return static_cast<float>(sum % 13) / 13.0f + 0.001f * static_cast<float>(prompt.size());
  };
}

// `stage_yaml` over prompts "a", "same" and the general prompt "say hi", with the reward models of
// kRewardModelStage.
std::unique_ptr<Fixture> MakeRewardModelRun(const std::string& dir, const std::string& stage_yaml,
                                            FakeWorker* worker,
                                            const std::string& cluster_yaml = "") {
  EXPECT_TRUE(MakeDirs(dir).ok());
  std::string data = WriteData(dir, {"a", "same"});
  auto f = Make(dir, data, stage_yaml, worker, cluster_yaml);
  Example general;
  general.prompt = "say hi";
  general.reference = "hi";
  general.reasoning = false;
  f->context.examples.push_back(general);
  f->context.reward_model_dirs[1] = "/rm";
  f->context.reward_model_dirs[2] = "/rm2";
  return f;
}

// Two runs of a stage trained the same: same batches, same reward metrics.
void ExpectSameTraining(const FakeWorker& want, const Fixture& want_run, const FakeWorker& got,
                        const Fixture& got_run) {
  ASSERT_EQ(want.batches.size(), got.batches.size());
  for (size_t i = 0; i < want.batches.size(); ++i) {
    EXPECT_EQ(want.batches[i].responses, got.batches[i].responses) << "batch " << i;
    EXPECT_EQ(want.batches[i].advantages, got.batches[i].advantages) << "batch " << i;
  }
  for (const char* key : {"reward_mean", "reward/reward_model1", "reward/reward_model2"}) {
    EXPECT_EQ(MetricColumn(*want_run.run_dir, "s", key), MetricColumn(*got_run.run_dir, "s", key))
        << key;
  }
}

// Each group's reward-model scores are computed as soon as its rollouts are in, while the other
// groups still decode (the fake's last rollout waits for a Score call, which only that does),
// one call per group and model, into the same rewards as scoring the whole batch afterwards.
TEST(GrpoStageTest, RewardModelsScoreCompleteGroupsWhileOthersDecode) {
  const std::string dir = TempDir("grpo_rm_overlap");
  FakeWorker batch;
  ScoreByContent(&batch);
  auto f1 = MakeRewardModelRun(JoinPath(dir, "batch"), kRewardModelStage, &batch);
  ASSERT_TRUE(RunStage(f1->context).ok());
  FakeWorker overlapped;
  ScoreByContent(&overlapped);
  overlapped.score_apart = true;
  overlapped.stream_delay_ms = 2;
  overlapped.stream_waits_for_score = true;
  auto f2 = MakeRewardModelRun(JoinPath(dir, "overlapped"), kRewardModelStage, &overlapped);
  auto result = RunStage(f2->context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(overlapped.score_overlap_timeouts, 0) << "no group was scored while others decoded";
  EXPECT_GT(overlapped.scores_during_generate, 0);
  // Per step: the first model on each of 3 groups, the second on the general group only.
  EXPECT_EQ(overlapped.score_calls, 2 * 4);
  EXPECT_EQ(batch.score_calls, 2 * 2);  // one call per model over the whole batch
  ExpectSameTraining(batch, *f1, overlapped, *f2);
  EXPECT_GT(MetricColumn(*f2->run_dir, "s", "reward/reward_model1")[0], 0.0);
  double overlapped_seconds = 0.0;
  for (double s : MetricColumn(*f2->run_dir, "s", "reward_model_overlapped_seconds")) {
    overlapped_seconds += s;
  }
  EXPECT_GT(overlapped_seconds, 0.0);
  EXPECT_THAT(MetricColumn(*f1->run_dir, "s", "reward_model_overlapped_seconds"),
              ::testing::ElementsAre(0.0, 0.0));
}

// A reward model that fails on the scoring thread fails the stage with the call named; the
// thread is joined and the stage returns (no hang).
TEST(GrpoStageTest, ARewardModelErrorWhileDecodingFailsTheStage) {
  const std::string dir = TempDir("grpo_rm_overlap_error");
  for (int64_t fail : {0, 3}) {  // the first group's first call; the last group's
    FakeWorker worker;
    ScoreByContent(&worker);
    worker.score_apart = true;
    worker.stream_delay_ms = 2;
    worker.fail_score_call = fail;
    auto f = MakeRewardModelRun(JoinPath(dir, absl::StrCat(fail)), kRewardModelStage, &worker);
    auto result = RunStage(f->context);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(result.status().message(),
                ::testing::HasSubstr("stage s step 0: scoring while decoding: reward_model"));
    EXPECT_THAT(result.status().message(), ::testing::HasSubstr(": Score: reward worker died"));
    EXPECT_TRUE(worker.batches.empty());
  }
}

// Where the workers that score also decode (colocated), reward models score the whole batch
// after generation, as before: no Score call while a GenerateStreaming call runs.
TEST(GrpoStageTest, WithoutScoringApartNoScoreRunsWhileDecoding) {
  const std::string dir = TempDir("grpo_rm_no_overlap");
  FakeWorker worker;
  ScoreByContent(&worker);
  worker.stream_delay_ms = 2;  // score_apart false
  auto f = MakeRewardModelRun(dir, kRewardModelStage, &worker);
  auto result = RunStage(f->context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(worker.scores_during_generate, 0);
  EXPECT_EQ(worker.score_calls, 2 * 2);
}

// Dynamic sampling's later rounds and asynchronous RL's rounds sampled ahead score reward models
// while decoding too, and train as they would without.
TEST(GrpoStageTest, DynamicSamplingAndAsyncRlScoreRewardModelsWhileDecodingToo) {
  const std::string dir = TempDir("grpo_rm_overlap_modes");
  const std::string dynamic = absl::StrCat(kRewardModelStage, "      dynamic_sampling: true\n");
  const std::string async = absl::StrCat(kRewardModelStage, "      max_staleness: 1\n");
  for (const bool is_async : {false, true}) {
    const std::string& stage = is_async ? async : dynamic;
    const std::string cluster = is_async ? kDisaggregated : "";
    SCOPED_TRACE(is_async ? "async" : "dynamic sampling");
    FakeWorker batch;
    ScoreByContent(&batch);
    batch.generate_apart = is_async;
    auto f1 =
        MakeRewardModelRun(JoinPath(dir, absl::StrCat("batch", is_async)), stage, &batch, cluster);
    auto r1 = RunStage(f1->context);
    ASSERT_TRUE(r1.ok()) << r1.status();
    FakeWorker overlapped;
    ScoreByContent(&overlapped);
    overlapped.generate_apart = is_async;
    overlapped.score_apart = true;
    overlapped.stream_delay_ms = 1;
    auto f2 = MakeRewardModelRun(JoinPath(dir, absl::StrCat("overlapped", is_async)), stage,
                                 &overlapped, cluster);
    auto r2 = RunStage(f2->context);
    ASSERT_TRUE(r2.ok()) << r2.status();
    EXPECT_GT(overlapped.score_calls, batch.score_calls);  // per group, not per batch
    ExpectSameTraining(batch, *f1, overlapped, *f2);
    if (!is_async) {  // the uniform "same" groups were dropped and refilled
      EXPECT_GT(MetricColumn(*f2->run_dir, "s", "uniform_groups")[0], 0.0);
    }
  }
}

TEST(EvalStageTest, WritesPassAt1MajorityAndFormatRate) {
  const std::string stage = R"(  - name: s
    type: eval
    inputs: {model: base, datasets: [d]}
    eval: {samples_per_prompt: 3}
)";
  std::string dir = TempDir("eval");
  std::string data = WriteData(dir, {"right", "wrong"});
  FakeWorker worker;
  worker.respond = [](const std::string& prompt, uint64_t) {
    return std::string(prompt.find("right") != std::string::npos
                           ? "<think>t</think><answer>0</answer>"
                           : "the answer is 3");
  };
  auto f = Make(dir, data, stage, &worker);
  auto result = RunStage(f->context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_DOUBLE_EQ(result->summary["pass@1"], 0.5);
  EXPECT_DOUBLE_EQ(result->summary["maj@k"], 0.5);
  EXPECT_DOUBLE_EQ(result->summary["format_rate"], 0.5);
  EXPECT_EQ(worker.generated, 6);
  auto text = ReadFile(result->output);
  ASSERT_TRUE(text.ok());
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(*text)["pass@1"].get<double>(), 0.5);

  // Prompts of a general (non-reasoning) dataset are answered directly: the format rate is over
  // reasoning prompts only, and absent when there are none.
  f->context.examples[0].reasoning = false;
  auto mixed = RunStage(f->context);
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_DOUBLE_EQ(mixed->summary["format_rate"], 0.0);  // only "wrong" (no format) counts
  f->context.examples[1].reasoning = false;
  auto general = RunStage(f->context);
  ASSERT_TRUE(general.ok()) << general.status();
  EXPECT_EQ(general->summary.count("format_rate"), 0u);
  EXPECT_DOUBLE_EQ(general->summary["pass@1"], 0.5);
}

TEST(RejectionSamplingStageTest, CountsEveryReasonAndKeepsAtMostMPerPrompt) {
  const std::string stage = R"(  - name: s
    type: rejection_sampling
    inputs: {model: base, datasets: [d]}
    rejection_sampling: {samples_per_prompt: 3, max_kept_per_prompt: 1, dedupe: true}
)";
  std::string dir = TempDir("rs");
  std::string data = WriteData(dir, {"good", "bad", "sloppy", "varied"});
  FakeWorker worker;
  worker.respond = [](const std::string& prompt, uint64_t seed) {
    if (prompt.find("good") != std::string::npos)
      return std::string("<think>t</think><answer>0</answer>");
    if (prompt.find("bad") != std::string::npos)
      return std::string("<think>t</think><answer>9</answer>");
    if (prompt.find("sloppy") != std::string::npos) return std::string("the answer is 0");
    return absl::StrCat("<think>", seed, "</think><answer>0</answer>");  // distinct, correct
  };
  auto f = Make(dir, data, stage, &worker);
  auto result = RunStage(f->context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->summary["total"], 12);
  EXPECT_EQ(result->summary["kept"], 2);                 // good, varied
  EXPECT_EQ(result->summary["rejected_duplicate"], 2);   // good's two repeats
  EXPECT_EQ(result->summary["rejected_incorrect"], 3);   // bad
  EXPECT_EQ(result->summary["rejected_format"], 3);      // sloppy
  EXPECT_EQ(result->summary["rejected_over_limit"], 2);  // varied beyond the first
  // Run again (as after a crash before the stage was journaled done): its counts are logged once.
  ASSERT_TRUE(RunStage(f->context).ok());
  auto lines = ReadJsonlRecords(f->run_dir->MetricsPath("s"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 1u);
  EXPECT_EQ((*lines)[0]["kept"], 2);
  std::vector<testing_util::DecodedEvent> events;
  std::string error;
  ASSERT_TRUE(testing_util::ReadOnlyEventFileIn(f->run_dir->TensorBoardDir("s"), &events, &error))
      << error;
  EXPECT_EQ(testing_util::SummarySteps(events), std::vector<int64_t>{1});
  auto kept = ReadPromptAnswer(result->output);
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].prompt, "good");
  EXPECT_EQ((*kept)[0].solution, "<think>t</think><answer>0</answer>");
}

TEST(RejectionSamplingStageTest, NothingKeptGivesAnEmptyDatasetAndTheCounts) {
  const std::string stage = R"(  - name: s
    type: rejection_sampling
    inputs: {model: base, datasets: [d]}
)";
  std::string dir = TempDir("rs_empty");
  std::string data = WriteData(dir, {"x"});
  FakeWorker worker;
  worker.respond = [](const std::string&, uint64_t) { return std::string("no idea"); };
  auto f = Make(dir, data, stage, &worker);
  auto result = RunStage(f->context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->summary["kept"], 0);
  EXPECT_EQ(result->summary["rejected_incorrect"], 4);  // default k = 4
  auto kept = ReadPromptAnswer(result->output);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->empty());
}

}  // namespace
}  // namespace r1
