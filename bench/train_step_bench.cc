// train_step_bench: one GRPO policy update (LocalWorker::TrainStep) on the default run's model
// (configs/tiny-r1.yaml: Llama, C=128, 4 layers, byte vocabulary) and grpo_reasoning's batch
// shape (16 prompts x G=8 responses), in one padded pass and in length-sorted micro-batches of
// each --tokens budget (TrainBatch::micro_batch_tokens), interleaved rep by rep. Not a test:
// prints a table, then one summary line.
//
// Shape: half the prompts are short (28-36 tokens, like the rendered arithmetic prompts), half
// long (90-100, countdown); responses 12-70 tokens, and with probability --truncated-percent
// max_new_tokens = 128 (cut). "max |Δparam|" compares the weights after one step from the same
// start, micro-batched against one pass.
//
// usage: train_step_bench [--threads N] [--reps N] [--truncated-percent P] [--seed S]
//                         [--tokens 1024,2048,4096]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "model/threads.h"
#include "workers/local_worker.h"

namespace r1 {
namespace {

constexpr char kTinyR1[] = R"({"model_type": "llama", "vocab_size": 0, "hidden_size": 128,
  "intermediate_size": 352, "num_hidden_layers": 4, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 512, "tie_word_embeddings": true})";

struct Options {
  int32_t threads = 0;
  int reps = 5;
  int truncated_percent = 5;
  uint64_t seed = 1;
  std::vector<int64_t> tokens = {1024, 2048, 4096};
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--threads") {
      o->threads = std::atoi(value.c_str());
    } else if (key == "--reps") {
      o->reps = std::max(1, std::atoi(value.c_str()));
    } else if (key == "--truncated-percent") {
      o->truncated_percent = std::clamp(std::atoi(value.c_str()), 0, 100);
    } else if (key == "--seed") {
      o->seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (key == "--tokens") {
      o->tokens.clear();
      for (absl::string_view t : absl::StrSplit(value, ',')) {
        o->tokens.push_back(std::atoll(std::string(t).c_str()));
      }
    } else {
      std::fprintf(stderr, "train_step_bench: unknown option %s\n", key.c_str());
      return false;
    }
  }
  return true;
}

TrainBatch MakeBatch(const Options& o) {
  constexpr int kPrompts = 16, kGroup = 8, kMaxNew = 128;
  std::mt19937_64 rng(o.seed);
  TrainBatch b;
  b.objective = TrainBatch::Objective::kPolicyGradient;
  b.policy_loss.aggregation = LossAggregation::kTokenMean;
  b.policy_loss.clip_high = 0.28;
  b.policy_loss.kl_coef = 0.001;
  for (int i = 0; i < kPrompts; ++i) {
    TokenSeq prompt(i % 2 == 0 ? 28 + rng() % 9 : 90 + rng() % 11);
    for (auto& id : prompt) id = static_cast<int32_t>(rng() % 256);
    for (int g = 0; g < kGroup; ++g) {
      const bool truncated = static_cast<int>(rng() % 100) < o.truncated_percent;
      TokenSeq response(truncated ? kMaxNew : 12 + rng() % 59);
      for (auto& id : response) id = static_cast<int32_t>(rng() % 256);
      b.prompts.push_back(prompt);
      b.ref_logprobs.push_back(std::vector<float>(response.size(), -5.5f));
      b.responses.push_back(std::move(response));
      b.advantages.push_back(static_cast<float>(static_cast<int>(rng() % 3) - 1));
    }
  }
  return b;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) return 2;
  const std::string threads = ToString(ConfigureThreads(o.threads));
  OptimizerOptions adam;
  adam.lr = 2e-5;
  LocalWorker worker;
  absl::Status init = worker.InitModel("policy", kTinyR1, "byte", 1, &adam);
  if (!init.ok()) {
    std::fprintf(stderr, "train_step_bench: %s\n", std::string(init.message()).c_str());
    return 1;
  }
  TrainBatch batch = MakeBatch(o);
  int64_t tokens = 0, longest = 0;
  for (size_t i = 0; i < batch.prompts.size(); ++i) {
    const int64_t len = static_cast<int64_t>(batch.prompts[i].size() + batch.responses[i].size());
    tokens += len;
    longest = std::max(longest, len);
  }
  const int64_t padded = longest * static_cast<int64_t>(batch.prompts.size());

  std::vector<int64_t> budgets = {0};
  budgets.insert(budgets.end(), o.tokens.begin(), o.tokens.end());
  std::vector<double> best(budgets.size(), 1e30);
  for (int rep = 0; rep < o.reps; ++rep) {
    for (size_t k = 0; k < budgets.size(); ++k) {
      batch.micro_batch_tokens = budgets[k];
      const auto t0 = std::chrono::steady_clock::now();
      absl::StatusOr<StepMetrics> m = worker.TrainStep("policy", batch);
      const double s = Seconds(t0);
      if (!m.ok()) {
        std::fprintf(stderr, "train_step_bench: %s\n", std::string(m.status().message()).c_str());
        return 1;
      }
      best[k] = std::min(best[k], s);
    }
  }
  std::printf("model: tiny-r1 (C=128, 4 layers, byte vocabulary); %s\n", threads.c_str());
  std::printf(
      "batch: %zu sequences, %lld prompt+response tokens, %lld padded cells in one pass (%.0f%% "
      "padding); best of %d, interleaved\n\n",
      batch.prompts.size(), (long long)tokens, (long long)padded,
      100.0 * (1.0 - double(tokens) / double(padded)), o.reps);
  std::printf("%-26s %10s %10s\n", "train step", "seconds", "speed-up");
  size_t fastest = 0;
  for (size_t k = 0; k < budgets.size(); ++k) {
    const std::string name =
        budgets[k] == 0 ? "one pass" : "micro_batch_tokens " + std::to_string(budgets[k]);
    std::printf("%-26s %10.3f %9.2fx\n", name.c_str(), best[k], best[0] / best[k]);
    if (best[k] < best[fastest]) fastest = k;
  }
  std::printf("\nsummary: one pass %.3f s; fastest micro_batch_tokens %lld at %.3f s (%.2fx)\n",
              best[0], (long long)budgets[fastest], best[fastest], best[0] / best[fastest]);
  return 0;
}

}  // namespace
}  // namespace r1

int main(int argc, char** argv) { return r1::Main(argc, argv); }
