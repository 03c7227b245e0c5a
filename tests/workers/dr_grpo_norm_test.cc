// Dr.GRPO's constant normaliser through the worker: a TrainStep with seq-mean-token-sum-norm
// divides each response's token sum by the configured constant (the stage's max_new_tokens),
// carried over the Worker protocol; without one, by the batch's padded response length.
#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "model/threads.h"
#include "worker_api/worker_proto.h"
#include "workers/local_worker.h"

namespace r1 {
namespace {

const char kTinyConfig[] = R"({"model_type": "llama", "vocab_size": 0, "hidden_size": 32,
  "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 128, "tie_word_embeddings": true})";

class DrGrpoNormTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ConfigureThreads(1); }
};

// On-policy (ratio 1), no KL: every token's loss is -A_i, so the loss is, by hand,
//   mean_i(-A_i * n_i / N) = (-(1.0 * n_0) + 0.5 * n_1) / (2 N).
double ByHand(double n0, double n1, double norm) { return (-n0 + 0.5 * n1) / (2.0 * norm); }

TrainBatch OnPolicyBatch(LocalWorker& worker) {
  TrainBatch batch;
  batch.objective = TrainBatch::Objective::kPolicyGradient;
  batch.prompts = *worker.Tokenize({"User: 12+7\nAssistant: ", "User: 3*4\nAssistant: "});
  batch.responses = *worker.Tokenize({"<think>2+7=9</think><answer>19</answer>", "12"});
  batch.advantages = {1.0f, -0.5f};
  batch.policy_loss.aggregation = LossAggregation::kSeqMeanTokenSumNorm;
  return batch;
}

TEST_F(DrGrpoNormTest, DividesByTheConfiguredConstant) {
  OptimizerOptions adam;
  adam.lr = 1e-9;  // the loss is read before the step; keep the weights essentially still
  LocalWorker worker;
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 5, &adam).ok());
  TrainBatch batch = OnPolicyBatch(worker);
  const double n0 = static_cast<double>(batch.responses[0].size());
  const double n1 = static_cast<double>(batch.responses[1].size());
  ASSERT_GT(n0, n1);  // different lengths, so the two normalisers differ

  batch.policy_loss.token_sum_norm = 64.0;  // max_new_tokens
  auto constant = worker.TrainStep("policy", batch);
  ASSERT_TRUE(constant.ok()) << constant.status();
  EXPECT_NEAR(constant->at("loss"), ByHand(n0, n1, 64.0), 1e-6);

  // Unset: the padded response length of the batch, the longest response.
  batch.policy_loss.token_sum_norm = 0.0;
  batch.step = 1;
  auto padded = worker.TrainStep("policy", batch);
  ASSERT_TRUE(padded.ok()) << padded.status();
  EXPECT_NEAR(padded->at("loss"), ByHand(n0, n1, n0), 1e-6);
}

TEST_F(DrGrpoNormTest, TheConstantCrossesTheWorkerProtocol) {
  TrainBatch batch;
  batch.objective = TrainBatch::Objective::kPolicyGradient;
  batch.policy_loss.aggregation = LossAggregation::kSeqMeanTokenSumNorm;
  batch.policy_loss.token_sum_norm = 256.0;
  v1::TrainStepRequest request;
  ToProto("policy", batch, &request);
  TrainBatch back;
  ASSERT_TRUE(FromProto(request, &back).ok());
  EXPECT_EQ(back.policy_loss.token_sum_norm, 256.0);

  for (double bad : {-1.0, std::numeric_limits<double>::quiet_NaN()}) {
    request.mutable_policy_loss()->set_token_sum_norm(bad);
    absl::Status status = FromProto(request, &back);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("token_sum_norm"), std::string::npos) << status;
  }
}

}  // namespace
}  // namespace r1
