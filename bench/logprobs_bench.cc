// logprobs_bench: the GRPO stage's log-prob forward next to its generation, in one run, on the
// default run's model (configs/tiny-r1.yaml: Llama, C=128, 4 layers, byte vocabulary) and
// grpo_reasoning's batch shape (16 prompts x G=8 rollouts of up to 128 new tokens). Not a test:
// prints a table, then one summary line.
//
// Rows:
//   generate             r1::Generate of the 128 requests (what the stage's generate_seconds
//                        measures);
//   logprobs padded      ComputeResponseLogProbsNoGrad with chunk_tokens 0: one batch padded to
//                        the longest prompt + response (the worker's earlier path);
//   logprobs             ComputeResponseLogProbsNoGrad as the worker calls it now: length-sorted
//                        chunks of --chunk-tokens padded cells (default kLogprobChunkTokens).
// The stage runs the reference model's log-probs every step and the policy's every 10th step
// (the on-policy mismatch check), 1.1 calls per step; "stage ratio" is 1.1 x logprobs / generate,
// an estimate of the stage's logprobs_seconds / generate_seconds. "max |diff|" is the
// largest difference between the two log-prob paths over the real response tokens.
//
// Response lengths: a random model never emits a stop token, so each request's max_new_tokens is
// drawn instead: uniform in [--min-response, 128) and, with probability --truncated-percent, 128
// (a rollout cut at max_new_tokens). Prompts are 25-48 tokens, like the rendered arithmetic and
// countdown prompts.
//
// usage: logprobs_bench [--threads N] [--reps N] [--min-response N] [--truncated-percent P]
//                       [--seed S] [--chunk-tokens N]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "model/generate.h"
#include "model/logprobs.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/threads.h"

namespace r1 {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

ModelConfig TinyR1Config() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 264;  // byte tokenizer
  c.hidden_size = 128;
  c.intermediate_size = 352;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 32;
  c.max_position_embeddings = 512;
  c.tie_word_embeddings = true;
  return c;
}

struct Options {
  int32_t threads = 0;
  int reps = 3;
  int64_t min_response = 30;
  int truncated_percent = 15;
  uint64_t seed = 1;
  int64_t chunk_tokens = kLogprobChunkTokens;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--threads") {
      o->threads = std::atoi(value.c_str());
    } else if (key == "--reps") {
      o->reps = std::max(1, std::atoi(value.c_str()));
    } else if (key == "--min-response") {
      o->min_response = std::clamp<int64_t>(std::atoll(value.c_str()), 1, 127);
    } else if (key == "--truncated-percent") {
      o->truncated_percent = std::clamp(std::atoi(value.c_str()), 0, 100);
    } else if (key == "--chunk-tokens") {
      o->chunk_tokens = std::atoll(value.c_str());
    } else if (key == "--seed") {
      o->seed = std::strtoull(value.c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr, "logprobs_bench: unknown option %s\n", key.c_str());
      return false;
    }
  }
  return true;
}

// 16 prompts x 8 rollouts with drawn prompt lengths and response length limits.
std::vector<GenerationRequest> MakeRequests(const Options& o, int64_t vocab) {
  constexpr int kPrompts = 16, kGroup = 8, kMaxNew = 128;
  std::mt19937_64 rng(o.seed);
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < kPrompts; ++i) {
    std::vector<int32_t> prompt(25 + rng() % 24);
    for (auto& id : prompt) id = static_cast<int32_t>(rng() % 256);
    for (int g = 0; g < kGroup; ++g) {
      GenerationRequest r;
      r.prompt_ids = prompt;
      r.sampling.temperature = 1.0f;
      r.sampling.seed = rng();
      const bool truncated = static_cast<int>(rng() % 100) < o.truncated_percent;
      r.max_new_tokens =
          truncated ? kMaxNew
                    : static_cast<int32_t>(o.min_response + rng() % (kMaxNew - o.min_response));
      requests.push_back(std::move(r));
    }
  }
  (void)vocab;
  return requests;
}

int Main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) return 2;
  const std::string threads = ToString(ConfigureThreads(o.threads));
  const ModelConfig config = TinyR1Config();
  auto model_or = NewCausalLm(config, 0);
  if (!model_or.ok()) return 1;
  CausalLm model = *model_or;
  const std::vector<GenerationRequest> requests = MakeRequests(o, config.vocab_size);

  double generate_s = 1e30, padded_s = 1e30, current_s = 1e30, max_diff = 0.0;
  int64_t tokens = 0, padded_cells = 0;
  for (int rep = 0; rep < o.reps; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    auto results = Generate(*model, requests);
    generate_s = std::min(generate_s, Seconds(t0));
    if (!results.ok()) {
      std::fprintf(stderr, "logprobs_bench: %s\n", std::string(results.status().message()).c_str());
      return 1;
    }
    std::vector<std::vector<int32_t>> prompts, responses;
    int64_t longest = 0;
    tokens = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
      prompts.push_back(requests[i].prompt_ids);
      responses.push_back((*results)[i].token_ids);
      const int64_t len = static_cast<int64_t>(prompts.back().size() + responses.back().size());
      longest = std::max(longest, len);
      tokens += len;
    }
    padded_cells = longest * static_cast<int64_t>(requests.size());
    t0 = std::chrono::steady_clock::now();
    auto before = ComputeResponseLogProbsNoGrad(*model, prompts, responses, 1.0f, 0);
    padded_s = std::min(padded_s, Seconds(t0));
    t0 = std::chrono::steady_clock::now();
    auto after = ComputeResponseLogProbsNoGrad(*model, prompts, responses, 1.0f, o.chunk_tokens);
    current_s = std::min(current_s, Seconds(t0));
    if (!before.ok() || !after.ok()) {
      std::fprintf(stderr, "logprobs_bench: %s\n",
                   std::string((before.ok() ? after : before).status().message()).c_str());
      return 1;
    }
    max_diff = std::max(max_diff, (before->logprobs - after->logprobs).abs().max().item<double>());
  }
  std::printf("model: tiny-r1 (C=%lld, %lld layers, V=%lld, %lld parameters); %s\n",
              (long long)config.hidden_size, (long long)config.num_hidden_layers,
              (long long)config.vocab_size, (long long)NumParameters(config), threads.c_str());
  std::printf(
      "batch: %zu sequences, %lld prompt+response tokens, %lld padded cells (%.0f%% "
      "padding); best of %d\n\n",
      requests.size(), (long long)tokens, (long long)padded_cells,
      100.0 * (1.0 - double(tokens) / double(padded_cells)), o.reps);
  std::printf("%-22s %10s %14s\n", "benchmark", "seconds", "stage ratio");
  std::printf("%-22s %10.3f %14s\n", "generate", generate_s, "-");
  std::printf("%-22s %10.3f %14.2f\n", "logprobs padded", padded_s, 1.1 * padded_s / generate_s);
  std::printf("%-22s %10.3f %14.2f\n",
              ("logprobs chunks " + std::to_string(o.chunk_tokens)).c_str(), current_s,
              1.1 * current_s / generate_s);
  std::printf(
      "\nsummary: stage ratio (1.1 x logprobs / generate) padded %.2f, now %.2f; "
      "speed-up %.2fx; max |diff| %.3g\n",
      1.1 * padded_s / generate_s, 1.1 * current_s / generate_s, padded_s / current_s, max_diff);
  return 0;
}

}  // namespace
}  // namespace r1

int main(int argc, char** argv) { return r1::Main(argc, argv); }
