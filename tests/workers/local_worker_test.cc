// LocalWorker on a tiny real model: training lowers the loss, checkpoints restore weights and
// optimizer state exactly (a resumed run ends bit-identical to an uninterrupted one), policy
// gradient and reward-model steps run, and errors name the problem.
#include "workers/local_worker.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/hf_dir.h"
#include "model/threads.h"
#include "tests/test_util.h"
#include "workers/worker_comms.h"

namespace r1 {
namespace {

const char kTinyConfig[] = R"({"model_type": "llama", "vocab_size": 0, "hidden_size": 32,
  "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 128, "tie_word_embeddings": true})";

std::string TempDir(const std::string& name) {
  return testing_util::ScratchDir("local_worker_" + name);
}

OptimizerOptions Adam() {
  OptimizerOptions o;
  o.lr = 3e-3;
  o.warmup_steps = 2;
  o.schedule = LrSchedule::kCosine;
  o.total_steps = 20;
  return o;
}

TrainBatch LmBatch(LocalWorker& worker, int64_t step) {
  TrainBatch batch;
  batch.step = step;
  auto prompts = worker.Tokenize({"User: 12+7\nAssistant: ", "User: 3*4\nAssistant: "});
  auto responses = worker.Tokenize(
      {"<think>2+7=9</think><answer>19</answer>", "<think>3*4=12</think><answer>12</answer>"});
  EXPECT_TRUE(prompts.ok() && responses.ok());
  batch.prompts = *prompts;
  batch.responses = *responses;
  return batch;
}

class LocalWorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ConfigureThreads(1); }
};

TEST_F(LocalWorkerTest, TrainingLowersTheLoss) {
  LocalWorker worker;
  OptimizerOptions adam = Adam();
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 1, &adam).ok());
  double first = 0, last = 0;
  for (int64_t step = 0; step < 20; ++step) {
    auto m = worker.TrainStep("policy", LmBatch(worker, step));
    ASSERT_TRUE(m.ok()) << m.status();
    if (step == 0) first = m->at("loss");
    last = m->at("loss");
    EXPECT_GT(m->at("grad_norm"), 0.0);
  }
  EXPECT_LT(last, first * 0.7);
}

TEST_F(LocalWorkerTest, ResumedTrainingEndsBitIdentical) {
  const std::string dir = TempDir("resume");
  OptimizerOptions adam = Adam();
  // Uninterrupted: 6 steps.
  LocalWorker straight;
  ASSERT_TRUE(straight.InitModel("policy", kTinyConfig, "byte", 7, &adam).ok());
  for (int64_t s = 0; s < 6; ++s)
    ASSERT_TRUE(straight.TrainStep("policy", LmBatch(straight, s)).ok());
  ASSERT_TRUE(straight.Save("policy", JoinPath(dir, "straight"), "{}", true).ok());
  // Interrupted: 3 steps, checkpoint, a fresh worker loads it and does the other 3.
  {
    LocalWorker first;
    ASSERT_TRUE(first.InitModel("policy", kTinyConfig, "byte", 7, &adam).ok());
    for (int64_t s = 0; s < 3; ++s) ASSERT_TRUE(first.TrainStep("policy", LmBatch(first, s)).ok());
    ASSERT_TRUE(first.Save("policy", JoinPath(dir, "ckpt"), R"({"step": 3})", false).ok());
  }
  EXPECT_TRUE(PathExists(JoinPath(dir, "ckpt/optimizer.pt")));
  EXPECT_TRUE(PathExists(JoinPath(dir, "ckpt/trainer_state.json")));
  LocalWorker second;
  ASSERT_TRUE(second.LoadModel("policy", JoinPath(dir, "ckpt"), &adam, JoinPath(dir, "ckpt")).ok());
  for (int64_t s = 3; s < 6; ++s) ASSERT_TRUE(second.TrainStep("policy", LmBatch(second, s)).ok());
  ASSERT_TRUE(second.Save("policy", JoinPath(dir, "resumed"), "{}", true).ok());

  auto a = ReadFile(JoinPath(dir, "straight/model.safetensors"));
  auto b = ReadFile(JoinPath(dir, "resumed/model.safetensors"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a == *b) << "resumed weights differ from the uninterrupted run's";
}

TEST_F(LocalWorkerTest, GenerationIsReproducibleAndLogprobsMatchTheSampler) {
  LocalWorker worker;
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 3, nullptr).ok());
  auto prompt = worker.Tokenize({"User: 1+1\nAssistant: "});
  ASSERT_TRUE(prompt.ok());
  RolloutRequest r;
  r.prompt = (*prompt)[0];
  r.sampling.max_new_tokens = 12;
  r.sampling.seed = 42;
  RolloutRequest other = r;
  other.sampling.seed = 43;
  auto alone = worker.Generate("policy", {r});
  auto mixed = worker.Generate("policy", {other, r, other});
  ASSERT_TRUE(alone.ok() && mixed.ok());
  EXPECT_EQ((*alone)[0].response, (*mixed)[1].response);
  ASSERT_FALSE((*alone)[0].response.empty());
  auto lp = worker.Logprobs("policy", {r.prompt}, {(*alone)[0].response}, 1.0f);
  ASSERT_TRUE(lp.ok()) << lp.status();
  ASSERT_EQ((*lp)[0].size(), (*alone)[0].logprobs.size());
  for (size_t t = 0; t < (*lp)[0].size(); ++t) {
    EXPECT_NEAR((*lp)[0][t], (*alone)[0].logprobs[t], 1e-4) << "token " << t;
  }
}

TEST_F(LocalWorkerTest, PolicyGradientAndRewardModelSteps) {
  const std::string dir = TempDir("pg");
  LocalWorker worker;
  OptimizerOptions adam = Adam();
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 5, &adam).ok());
  TrainBatch batch = LmBatch(worker, 0);
  auto old_lp = worker.Logprobs("policy", batch.prompts, batch.responses, 1.0f);
  ASSERT_TRUE(old_lp.ok());
  batch.objective = TrainBatch::Objective::kPolicyGradient;
  batch.old_logprobs = *old_lp;
  batch.advantages = {1.0f, -1.0f};
  auto m = worker.TrainStep("policy", batch);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_DOUBLE_EQ(m->at("clip_fraction"), 0.0);  // ratio 1 on the first pass
  EXPECT_NEAR(m->at("approx_kl"), 0.0, 1e-6);
  // kl_coef > 0 without reference log-probs is refused.
  batch.policy_loss.kl_coef = 0.1;
  auto refused = worker.TrainStep("policy", batch);
  EXPECT_FALSE(refused.ok());

  // A reward model: scalar head from the saved policy, Bradley-Terry steps separate the pairs.
  ASSERT_TRUE(worker.Save("policy", JoinPath(dir, "base"), "", true).ok());
  ASSERT_TRUE(worker.LoadModel("reward", JoinPath(dir, "base"), &adam, "").ok());
  TrainBatch pairs = LmBatch(worker, 0);
  pairs.objective = TrainBatch::Objective::kRewardModel;
  pairs.rejected = *worker.Tokenize({"no", "dunno"});
  double accuracy = 0;
  for (int64_t s = 0; s < 15; ++s) {
    pairs.step = s;
    auto r = worker.TrainStep("reward", pairs);
    ASSERT_TRUE(r.ok()) << r.status();
    accuracy = r->at("accuracy");
  }
  EXPECT_DOUBLE_EQ(accuracy, 1.0);
  auto scores = worker.Score("reward", pairs.prompts, pairs.responses);
  auto worse = worker.Score("reward", pairs.prompts, pairs.rejected);
  // A sequence beyond the model's context (128 positions) is refused, not scored.
  auto too_long = worker.Score("reward", {std::vector<int32_t>(100, 5)}, {std::vector<int32_t>(29, 6)});
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_long.status().message()),
              ::testing::HasSubstr("sequence 0: 129 tokens exceeds the model's context "
                        "(max_position_embeddings=128)"));
  ASSERT_TRUE(scores.ok() && worse.ok());
  EXPECT_GT((*scores)[0], (*worse)[0]);
  // Saved with its head, it loads back with the same scores.
  ASSERT_TRUE(worker.Save("reward", JoinPath(dir, "rm"), "", true).ok());
  auto files = LoadHfModelDir(JoinPath(dir, "rm"));
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->tensors.count("score.weight"), 1u);
  LocalWorker other;
  ASSERT_TRUE(other.LoadModel("reward", JoinPath(dir, "rm"), nullptr, "").ok());
  auto again = other.Score("reward", pairs.prompts, pairs.responses);
  ASSERT_TRUE(again.ok());
  EXPECT_FLOAT_EQ((*again)[0], (*scores)[0]);
}

// On-policy (no old log-probs: the ratio is taken against the step's own detached log-probs) is
// the same update as passing the log-probs of the weights that are about to be trained.
TEST_F(LocalWorkerTest, OnPolicyStepEqualsExplicitOldLogprobs) {
  // A fresh policy and a policy-gradient batch over LmBatch's two sequences.
  auto policy_gradient_batch = [](LocalWorker& worker) {
    OptimizerOptions adam = Adam();
    EXPECT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 11, &adam).ok());
    TrainBatch batch = LmBatch(worker, 0);
    batch.objective = TrainBatch::Objective::kPolicyGradient;
    batch.advantages = {0.7f, -1.3f};
    return batch;
  };
  auto train = [&](bool explicit_old) -> std::vector<float> {
    LocalWorker worker;
    TrainBatch batch = policy_gradient_batch(worker);
    if (explicit_old) {
      auto old_lp = worker.Logprobs("policy", batch.prompts, batch.responses, 1.0f);
      EXPECT_TRUE(old_lp.ok());
      batch.old_logprobs = *old_lp;
    }
    auto m = worker.TrainStep("policy", batch);
    EXPECT_TRUE(m.ok()) << m.status();
    if (m.ok()) EXPECT_DOUBLE_EQ(m->at("clip_fraction"), 0.0);
    auto after = worker.Logprobs("policy", batch.prompts, batch.responses, 1.0f);
    EXPECT_TRUE(after.ok());
    std::vector<float> flat;
    for (const auto& row : *after) flat.insert(flat.end(), row.begin(), row.end());
    return flat;
  };
  const std::vector<float> explicit_old = train(true);
  const std::vector<float> on_policy = train(false);
  ASSERT_EQ(explicit_old.size(), on_policy.size());
  ASSERT_FALSE(on_policy.empty());
  for (size_t i = 0; i < on_policy.size(); ++i) EXPECT_NEAR(on_policy[i], explicit_old[i], 1e-5);
  // A wrong number of old log-prob rows is still refused.
  LocalWorker worker;
  TrainBatch batch = policy_gradient_batch(worker);
  batch.old_logprobs.resize(1);
  auto refused = worker.TrainStep("policy", batch);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("old_logprobs"));
}

// RL trains softmax(logits / T) at its rollout temperature T, as verl and TRL do: the sampler's
// log-probs are the trainer's at T (ratio 1 in the loss), and the model's own log-probs are not.
TEST_F(LocalWorkerTest, TemperatureScalesTheSamplerAndTheTrainedPolicy) {
  OptimizerOptions adam = Adam();
  LocalWorker worker;
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 13, &adam).ok());
  auto prompt = worker.Tokenize({"User: 2+2\nAssistant: "});
  ASSERT_TRUE(prompt.ok());
  RolloutRequest r;
  r.prompt = (*prompt)[0];
  r.sampling.max_new_tokens = 12;
  r.sampling.seed = 5;
  r.sampling.temperature = 0.5f;
  auto rollout = worker.Generate("policy", {r});
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  const TokenSeq response = (*rollout)[0].response;
  ASSERT_FALSE(response.empty());
  auto tempered = worker.Logprobs("policy", {r.prompt}, {response}, 0.5f);
  auto plain = worker.Logprobs("policy", {r.prompt}, {response}, 1.0f);
  ASSERT_TRUE(tempered.ok() && plain.ok());
  double largest_difference = 0.0;
  for (size_t t = 0; t < response.size(); ++t) {
    EXPECT_NEAR((*tempered)[0][t], (*rollout)[0].logprobs[t], 1e-4) << "token " << t;
    largest_difference =
        std::max(largest_difference, std::abs(double((*plain)[0][t]) - (*tempered)[0][t]));
  }
  EXPECT_GT(largest_difference, 1e-3);
  for (float bad : {0.0f, -1.0f, std::nanf("")}) {
    EXPECT_EQ(worker.Logprobs("policy", {r.prompt}, {response}, bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  }

  // One step at temperature 0.5 from the same fresh weights, against the given old log-probs.
  auto step = [&](const std::vector<std::vector<float>>& old,
                  double temperature) -> absl::StatusOr<StepMetrics> {
    LocalWorker fresh;
    EXPECT_TRUE(fresh.InitModel("policy", kTinyConfig, "byte", 13, &adam).ok());
    TrainBatch batch;
    batch.objective = TrainBatch::Objective::kPolicyGradient;
    batch.prompts = {r.prompt};
    batch.responses = {response};
    batch.advantages = {1.0f};
    batch.old_logprobs = old;
    batch.policy_loss.temperature = temperature;
    return fresh.TrainStep("policy", batch);
  };
  auto same = step(*tempered, 0.5);
  auto other = step(*plain, 0.5);
  ASSERT_TRUE(same.ok() && other.ok()) << same.status() << other.status();
  EXPECT_NEAR(same->at("approx_kl"), 0.0, 1e-6);
  EXPECT_GT(other->at("approx_kl"), 1e-5);
  EXPECT_EQ(step(*tempered, 0.0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(LocalWorkerTest, ErrorsNameTheProblem) {
  LocalWorker worker;
  auto missing = worker.Generate("policy", {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.status().message()), ::testing::HasSubstr("policy"));
  EXPECT_FALSE(worker.LoadModel("policy", "/nonexistent/model", nullptr, "").ok());
  EXPECT_FALSE(worker.InitModel("policy", "not json", "byte", 1, nullptr).ok());
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 1, nullptr).ok());
  TrainBatch batch = LmBatch(worker, 0);
  auto frozen = worker.TrainStep("policy", batch);
  EXPECT_THAT(std::string(frozen.status().message()), ::testing::HasSubstr("trainable"));
}

// The "entropy" metric of a policy-gradient step: the mean next-token entropy over response
// tokens. With tiny initial weights the distribution is almost uniform (entropy ≈ log V); with
// large ones it is peaked (much lower).
TEST_F(LocalWorkerTest, PolicyGradientReportsEntropy) {
  auto entropy_at = [](double initializer_range) -> double {
    const std::string config = absl::StrCat(
        R"({"model_type": "llama", "vocab_size": 512, "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 128, "initializer_range": )",
        initializer_range, "}");
    LocalWorker worker;
    OptimizerOptions adam = Adam();
    EXPECT_TRUE(worker.InitModel("policy", config, "byte", 3, &adam).ok());
    TrainBatch batch = LmBatch(worker, 0);
    auto old_lp = worker.Logprobs("policy", batch.prompts, batch.responses, 1.0f);
    EXPECT_TRUE(old_lp.ok()) << old_lp.status();
    batch.objective = TrainBatch::Objective::kPolicyGradient;
    batch.old_logprobs = *old_lp;
    batch.advantages = {1.0f, -1.0f};
    auto m = worker.TrainStep("policy", batch);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() && m->count("entropy") ? m->at("entropy") : -1.0;
  };
  const double log_v = std::log(512.0);
  const double uniform = entropy_at(0.001);
  EXPECT_NEAR(uniform, log_v, 1e-3);
  EXPECT_LE(uniform, log_v + 1e-5);  // no distribution has more
  const double peaked = entropy_at(1.0);
  EXPECT_GE(peaked, 0.0);
  EXPECT_LT(peaked, log_v - 1.0);
}

// Without a communicator nothing moves on weight sync, and a single process refuses an empty
// batch (only a data-parallel shard may be empty).
TEST_F(LocalWorkerTest, SingleProcessSyncAndEmptyBatch) {
  LocalWorker worker;
  OptimizerOptions adam = Adam();
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 1, &adam).ok());
  auto sync = worker.SyncWeights();
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->bytes_moved, 0);
  TrainBatch empty;
  auto refused = worker.TrainStep("policy", empty);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("empty batch"));
}

// With no launcher every requested group is a "single" communicator of one rank; "single" asked
// for inside a launcher job of several processes is refused instead of training alone.
TEST_F(LocalWorkerTest, WorkerCommsWithoutALauncher) {
  WorkerCommsOptions options;
  options.is_trainer = true;
  auto comms = CreateWorkerComms(options);
  ASSERT_TRUE(comms.ok()) << comms.status();
  ASSERT_NE(comms->trainer, nullptr);
  EXPECT_EQ(comms->trainer->backend(), "single");
  EXPECT_EQ(comms->trainer->size(), 1);
  EXPECT_EQ(comms->trainer->group_name(), "trainer");
  EXPECT_EQ(comms->weight_sync, nullptr);
  options.is_trainer = false;
  options.in_weight_sync = true;
  comms = CreateWorkerComms(options);
  ASSERT_TRUE(comms.ok()) << comms.status();
  EXPECT_EQ(comms->trainer, nullptr);
  ASSERT_NE(comms->weight_sync, nullptr);

  // A group of one trains and syncs like a worker without communicators.
  LocalWorkerOptions worker_options;
  worker_options.weight_sync_comm = comms->weight_sync.get();
  LocalWorker worker(worker_options);
  OptimizerOptions adam = Adam();
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 1, &adam).ok());
  auto sync = worker.SyncWeights();
  ASSERT_TRUE(sync.ok()) << sync.status();
  EXPECT_EQ(sync->bytes_moved, 0);

  options.backend = CommBackend::kSingle;
  setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
  auto refused = CreateWorkerComms(options);
  unsetenv("OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("3 processes"));
}

}  // namespace
}  // namespace r1
