// Micro-batches through the worker: TrainBatch::micro_batch_size / micro_batch_tokens split a
// TrainStep into length-sorted forward/backward passes whose gradients accumulate, which must give
// the step of one pass; the bounds cross the Worker protocol and reach every trainer rank's shard.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "model/logprobs.h"
#include "model/threads.h"
#include "worker_api/worker_proto.h"
#include "workers/local_worker.h"

namespace r1 {
namespace {

const char kTinyConfig[] = R"({"model_type": "llama", "vocab_size": 0, "hidden_size": 32,
  "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 128, "tie_word_embeddings": true})";

OptimizerOptions Adam() {
  OptimizerOptions o;
  o.lr = 3e-3;
  return o;
}

class MicroBatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ConfigureThreads(1); }
};

// Micro-batches (TrainBatch::micro_batch_size / micro_batch_tokens: length-sorted passes whose
// gradients accumulate) give the step of one pass over the batch: the same metrics and weights,
// for every objective and loss aggregation, up to float rounding.
TEST_F(MicroBatchTest, MicroBatchesGiveTheSameStepAsOnePass) {
  // Sequence 1 has no prompt (pretraining text), which only the language-model objective takes.
  const std::vector<std::string> prompt_texts = {"User: 12+7\nAssistant: ",
                                                 "",
                                                 "User: 3*4=?\n",
                                                 "User: a long prompt with many words\n",
                                                 "Q: ",
                                                 "User: 99-5\nAssistant: "};
  const std::vector<std::string> response_texts = {"<think>2+7=9</think><answer>19</answer>",
                                                   "pretraining text without a prompt",
                                                   "12",
                                                   "<think>words</think><answer>yes</answer>",
                                                   "a",
                                                   "<think>9-5=4</think><answer>94</answer>"};
  struct Case {
    std::string name;
    TrainBatch::Objective objective;
    LossAggregation aggregation = LossAggregation::kTokenMean;
    bool off_policy = false;  // old, reference and behaviour log-probs, KL on
  };
  const std::vector<Case> cases = {
      {"language model", TrainBatch::Objective::kLanguageModel},
      {"policy gradient token-mean", TrainBatch::Objective::kPolicyGradient},
      {"policy gradient seq-mean-token-mean", TrainBatch::Objective::kPolicyGradient,
       LossAggregation::kSeqMeanTokenMean},
      {"policy gradient seq-mean-token-sum-norm, off-policy, KL",
       TrainBatch::Objective::kPolicyGradient, LossAggregation::kSeqMeanTokenSumNorm, true},
      {"reward model", TrainBatch::Objective::kRewardModel},
  };
  for (const Case& c : cases) {
    // One step from the same start; returns its metrics and the log-probs of the batch after it.
    auto step = [&](int64_t micro_size, int64_t micro_tokens, TrainBatch* used) {
      LocalWorker worker;
      OptimizerOptions adam = Adam();
      const std::string slot =
          c.objective == TrainBatch::Objective::kRewardModel ? "reward" : "policy";
      EXPECT_TRUE(worker.InitModel(slot, kTinyConfig, "byte", 21, &adam).ok());
      TrainBatch batch;
      batch.objective = c.objective;
      std::vector<std::string> prompts = prompt_texts;
      if (c.objective != TrainBatch::Objective::kLanguageModel) prompts[1] = "P: ";
      batch.prompts = *worker.Tokenize(prompts);
      batch.responses = *worker.Tokenize(response_texts);
      if (c.objective == TrainBatch::Objective::kRewardModel) {
        batch.rejected = *worker.Tokenize({"no", "dunno", "13", "n", "bb", "<answer>4</answer>"});
      }
      if (c.objective == TrainBatch::Objective::kPolicyGradient) {
        batch.advantages = {0.7f, -1.3f, 0.2f, 1.1f, -0.4f, 0.9f};
        batch.policy_loss.aggregation = c.aggregation;
        batch.policy_loss.token_sum_norm = 50.0;
        if (c.off_policy) {
          auto lp = worker.Logprobs("policy", batch.prompts, batch.responses, 1.0f);
          EXPECT_TRUE(lp.ok());
          batch.old_logprobs = *lp;
          batch.ref_logprobs = *lp;
          batch.behaviour_logprobs = *lp;
          for (auto* rows : {&batch.old_logprobs, &batch.ref_logprobs, &batch.behaviour_logprobs}) {
            float shift = rows == &batch.old_logprobs ? 0.05f : -0.1f;
            for (auto& row : *rows) {
              for (float& v : row) v += (shift = -shift);
            }
          }
          batch.policy_loss.kl_coef = 0.1;
        }
      }
      batch.micro_batch_size = micro_size;
      batch.micro_batch_tokens = micro_tokens;
      *used = batch;
      auto m = worker.TrainStep(slot, batch);
      EXPECT_TRUE(m.ok()) << c.name << ": " << m.status();
      auto after = c.objective == TrainBatch::Objective::kRewardModel
                       ? worker.Score(slot, batch.prompts, batch.responses)
                       : absl::StatusOr<std::vector<float>>(std::vector<float>());
      std::vector<float> fingerprint = after.ok() ? *after : std::vector<float>();
      if (c.objective != TrainBatch::Objective::kRewardModel) {  // the weights, through 3 rows
        const std::vector<TokenSeq> probe_prompts(batch.prompts.begin() + 2, batch.prompts.end());
        const std::vector<TokenSeq> probe_responses(batch.responses.begin() + 2,
                                                    batch.responses.end());
        auto lp = worker.Logprobs(slot, probe_prompts, probe_responses, 1.0f);
        EXPECT_TRUE(lp.ok());
        for (const auto& row : *lp) fingerprint.insert(fingerprint.end(), row.begin(), row.end());
      }
      return std::make_pair(m.ok() ? *m : StepMetrics(), fingerprint);
    };
    TrainBatch batch;
    const auto [one_metrics, one_after] = step(0, 0, &batch);
    std::vector<int64_t> lengths;
    for (size_t i = 0; i < batch.prompts.size(); ++i) {
      size_t response = batch.responses[i].size();
      if (!batch.rejected.empty()) response = std::max(response, batch.rejected[i].size());
      lengths.push_back(static_cast<int64_t>(batch.prompts[i].size() + response));
    }
    for (const auto& [size, tokens] :
         std::vector<std::pair<int64_t, int64_t>>{{0, 60}, {2, 0}, {4, 70}}) {
      ASSERT_GE(PlanLogprobChunks(lengths, tokens, size).size(), 3u) << c.name;  // really split
      TrainBatch ignored;
      const auto [metrics, after] = step(size, tokens, &ignored);
      const std::string what =
          absl::StrCat(c.name, ", micro_batch_size ", size, ", tokens ", tokens);
      ASSERT_EQ(after.size(), one_after.size()) << what;
      ASSERT_FALSE(after.empty()) << what;
      for (size_t i = 0; i < after.size(); ++i) EXPECT_NEAR(after[i], one_after[i], 2e-5) << what;
      for (const auto& [key, value] : one_metrics) {
        if (key == "seconds") continue;
        ASSERT_EQ(metrics.count(key), 1u) << what << ": " << key;
        EXPECT_NEAR(metrics.at(key), value, 1e-5 * std::max(1.0, std::abs(value)))
            << what << ": " << key;
      }
    }
  }
}

TEST_F(MicroBatchTest, TheBoundsCrossTheWorkerProtocol) {
  TrainBatch batch;
  batch.objective = TrainBatch::Objective::kLanguageModel;
  batch.micro_batch_size = 3;
  batch.micro_batch_tokens = 1024;
  v1::TrainStepRequest request;
  ToProto("policy", batch, &request);
  TrainBatch back;
  ASSERT_TRUE(FromProto(request, &back).ok());
  EXPECT_EQ(back.micro_batch_size, 3);
  EXPECT_EQ(back.micro_batch_tokens, 1024);
  request.set_micro_batch_tokens(-5);
  absl::Status status = FromProto(request, &back);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("micro_batch_tokens"), std::string::npos) << status;
}

}  // namespace
}  // namespace r1
