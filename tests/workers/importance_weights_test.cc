// Asynchronous RL's truncated importance weights through the worker: a TrainStep whose batch
// carries the behaviour policy's log-probs weights each token's policy-gradient term by
// min(π_old / π_behaviour, C), reports the weights' statistics, refuses rows that do not fit the
// responses, and the log-probs and the cap cross the Worker protocol.
#include <cmath>

#include "gtest/gtest.h"
#include "model/threads.h"
#include "tests/workers/train_batches.h"
#include "worker_api/worker_proto.h"
#include "workers/local_worker.h"

namespace r1 {
namespace {

class ImportanceWeightsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ConfigureThreads(1); }

  void SetUp() override {
    OptimizerOptions adam;
    adam.lr = 1e-9;  // the loss is read before the step; keep the weights essentially still
    ASSERT_TRUE(worker_.InitModel("policy", testing_batches::kTinyQwen, "byte", 5, &adam).ok());
    batch_.objective = TrainBatch::Objective::kPolicyGradient;
    batch_.prompts = *worker_.Tokenize({"User: 12+7\nAssistant: ", "User: 3*4\nAssistant: "});
    batch_.responses = *worker_.Tokenize({"<think>2+7=9</think><answer>19</answer>", "12"});
    batch_.advantages = {1.0f, -0.5f};
    batch_.policy_loss.aggregation = LossAggregation::kTokenMean;
    auto lp = worker_.Logprobs("policy", batch_.prompts, batch_.responses, 1.0f);
    ASSERT_TRUE(lp.ok()) << lp.status();
    logprobs_ = *lp;
  }

  // The step's metrics with behaviour log-probs = π_old's minus log(ratio) (so every weight is
  // `ratio`), under `cap`; ratio 0 = no behaviour log-probs.
  StepMetrics Step(double ratio, double cap) {
    TrainBatch batch = batch_;
    batch.step = step_++;
    batch.policy_loss.importance_cap = cap;
    if (ratio > 0) {
      for (std::vector<float> row : logprobs_) {
        for (float& v : row) v -= static_cast<float>(std::log(ratio));
        batch.behaviour_logprobs.push_back(row);
      }
    }
    absl::StatusOr<StepMetrics> m = worker_.TrainStep("policy", batch);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : StepMetrics{};
  }

  LocalWorker worker_;
  TrainBatch batch_;
  std::vector<std::vector<float>> logprobs_;
  int64_t step_ = 0;
};

TEST_F(ImportanceWeightsTest, TokensAreWeightedByTheTruncatedRatio) {
  const StepMetrics plain = Step(0, 2.0);
  EXPECT_EQ(plain.count("importance_weight_mean"), 0u);
  ASSERT_NE(plain.at("loss"), 0.0);

  // The sampler was the trained policy: weights 1 (up to float rounding), the loss unchanged.
  const StepMetrics same = Step(1.0, 2.0);
  EXPECT_NEAR(same.at("importance_weight_mean"), 1.0, 1e-5);
  EXPECT_EQ(same.at("importance_truncated_fraction"), 0.0);
  EXPECT_NEAR(same.at("loss"), plain.at("loss"), 1e-5 * std::abs(plain.at("loss")));

  // Every weight 1.5: under the cap the loss scales by 1.5; a cap of 1.2 truncates every token.
  const StepMetrics scaled = Step(1.5, 2.0);
  EXPECT_NEAR(scaled.at("importance_weight_mean"), 1.5, 1e-4);
  EXPECT_EQ(scaled.at("importance_truncated_fraction"), 0.0);
  EXPECT_NEAR(scaled.at("loss"), 1.5 * plain.at("loss"), 1e-4 * std::abs(plain.at("loss")));
  const StepMetrics capped = Step(1.5, 1.2);
  EXPECT_NEAR(capped.at("importance_truncated_fraction"), 1.0, 1e-9);
  EXPECT_NEAR(capped.at("loss"), 1.2 * plain.at("loss"), 1e-4 * std::abs(plain.at("loss")));
}

TEST_F(ImportanceWeightsTest, RowsThatDoNotFitTheResponsesAreRefused) {
  TrainBatch batch = batch_;
  batch.behaviour_logprobs = {logprobs_[0]};
  absl::StatusOr<StepMetrics> m = worker_.TrainStep("policy", batch);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("1 behaviour_logprobs rows for 2 sequences"),
            std::string::npos)
      << m.status();
  batch.behaviour_logprobs = {logprobs_[0], {-1.0f}};
  m = worker_.TrainStep("policy", batch);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("behaviour_logprobs row 1 has 1 values for a response of"),
            std::string::npos)
      << m.status();
}

TEST_F(ImportanceWeightsTest, BehaviourLogprobsAndTheCapCrossTheWorkerProtocol) {
  TrainBatch batch = batch_;
  batch.behaviour_logprobs = logprobs_;
  batch.policy_loss.importance_cap = 3.5;
  v1::TrainStepRequest request;
  ToProto("policy", batch, &request);
  TrainBatch back;
  ASSERT_TRUE(FromProto(request, &back).ok());
  EXPECT_EQ(back.behaviour_logprobs, logprobs_);
  EXPECT_EQ(back.policy_loss.importance_cap, 3.5);

  request.mutable_policy_loss()->set_importance_cap(0.0);  // unset: verl's default
  ASSERT_TRUE(FromProto(request, &back).ok());
  EXPECT_EQ(back.policy_loss.importance_cap, 2.0);
  request.mutable_policy_loss()->set_importance_cap(-1.0);
  absl::Status status = FromProto(request, &back);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("importance_cap"), std::string::npos) << status;
}

}  // namespace
}  // namespace r1
