// Small training batches and checks shared by the worker tests that compare two workers (CPU vs
// CUDA, float64 vs float32, bf16 resumed vs uninterrupted). Header-only; needs LibTorch.
#ifndef R1_TESTS_WORKERS_TRAIN_BATCHES_H_
#define R1_TESTS_WORKERS_TRAIN_BATCHES_H_

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "model/hf_dir.h"
#include "workers/local_worker.h"

namespace r1::testing_batches {

// A tiny Qwen2 with an untied head (vocab_size 0: the tokenizer's).
inline constexpr char kTinyQwen[] = R"({"model_type": "qwen2", "vocab_size": 0, "hidden_size": 32,
  "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 128, "tie_word_embeddings": false})";

// Adam's first step is about lr·sign(g): a large eps keeps the update ~linear in the gradient, so
// that rounding differences between the compared workers do not flip whole steps.
inline OptimizerOptions LinearAdam() {
  OptimizerOptions o;
  o.lr = 1e-2;
  o.eps = 1e-3;
  return o;
}

inline std::vector<TokenSeq> Tokens(LocalWorker& worker, const std::vector<std::string>& texts) {
  auto ids = worker.Tokenize(texts);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<TokenSeq>(texts.size());
}

// Four sequences with responses of different lengths.
inline TrainBatch LmBatch(LocalWorker& worker) {
  TrainBatch batch;
  batch.prompts = Tokens(worker, {"User: 12+7\nAssistant: ", "Q: 3*4? ", "> ", "x"});
  batch.responses = Tokens(worker, {"<think>2+7=9</think><answer>19</answer>", "12", "hello world",
                                    "a longer response than the others"});
  return batch;
}

// The LM batch as policy gradient: the policy's own log-probs perturbed as old log-probs (so
// ratios differ from 1 and some clip), mixed advantages, a KL term against shifted references.
inline TrainBatch PgBatch(LocalWorker& worker) {
  TrainBatch batch = LmBatch(worker);
  batch.objective = TrainBatch::Objective::kPolicyGradient;
  batch.policy_loss.kl_coef = 0.05;
  auto lp = worker.Logprobs("policy", batch.prompts, batch.responses, 1.0f);
  EXPECT_TRUE(lp.ok()) << lp.status();
  batch.old_logprobs = lp.value_or(std::vector<std::vector<float>>(batch.prompts.size()));
  batch.ref_logprobs = batch.old_logprobs;
  for (size_t i = 0; i < batch.old_logprobs.size(); ++i) {
    for (size_t t = 0; t < batch.old_logprobs[i].size(); ++t) {
      batch.old_logprobs[i][t] += ((i + t) % 3 == 0) ? 0.4f : -0.1f;
      batch.ref_logprobs[i][t] -= 0.2f;
    }
  }
  batch.advantages = {1.0f, -0.5f, 0.25f, -1.0f};
  return batch;
}

// Preference pairs: the LM batch's responses chosen, short ones rejected.
inline TrainBatch RewardBatch(LocalWorker& worker) {
  TrainBatch batch = LmBatch(worker);
  batch.objective = TrainBatch::Objective::kRewardModel;
  batch.rejected = Tokens(worker, {"no", "13", "?", "b"});
  return batch;
}

// A slot's weights as Save writes them, by name, in float64 (whatever the stored dtype).
inline std::map<std::string, at::Tensor> SavedParams(LocalWorker& worker, const std::string& dir,
                                                     const std::string& slot = "policy") {
  absl::Status saved = worker.Save(slot, dir, "", /*weights_only=*/true);
  EXPECT_TRUE(saved.ok()) << saved;
  auto files = LoadHfModelDir(dir);
  EXPECT_TRUE(files.ok()) << files.status();
  std::map<std::string, at::Tensor> out;
  if (files.ok()) {
    for (const auto& [name, t] : files->tensors) out[name] = t.to(at::kDouble);
  }
  return out;
}

// The largest element-wise difference between two such maps (1e9 when their names differ).
inline double MaxDiff(const std::map<std::string, at::Tensor>& a,
                      const std::map<std::string, at::Tensor>& b) {
  if (a.size() != b.size()) return 1e9;
  double diff = 0;
  for (const auto& [name, t] : a) {
    if (b.count(name) == 0) return 1e9;
    diff = std::max(diff, (t - b.at(name)).abs().max().item<double>());
  }
  return diff;
}

}  // namespace r1::testing_batches

#endif  // R1_TESTS_WORKERS_TRAIN_BATCHES_H_
