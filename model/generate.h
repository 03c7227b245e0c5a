// Batched autoregressive generation with a KV cache and continuous batching: up to max_batch
// sequences decode together, one token per step each; when one finishes, its batch row is refilled
// with the next waiting request (its prompt prefilled on the side and placed into the row of the
// cache, which is allocated once and written in place). Each request has its own sampling
// parameters, stop ids, length limit and seed. Randomness of request i at step s is UniformForStep(seed_i, s) (sampler.h), so a
// request's tokens do not depend on which other requests share its batch (up to the float
// rounding of padded matmuls; GenerateOptions::per_request removes even that).
#ifndef R1_MODEL_GENERATE_H_
#define R1_MODEL_GENERATE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/sampler.h"
#include "model/transformer.h"

namespace r1 {

struct GenerationRequest {
  std::vector<int32_t> prompt_ids;      // non-empty, ids in [0, vocab_size)
  SamplingParams sampling;              // temperature, top-k, top-p, seed
  int32_t max_new_tokens = 256;         // >= 0
  std::vector<int32_t> stop_token_ids;  // generation ends after emitting one of these
};

enum class FinishReason { kStop, kLength };
const char* FinishReasonName(FinishReason reason);  // "stop" / "length"

struct GenerationResult {
  std::vector<int32_t> token_ids;  // generated ids; a final stop id is included
  // log p(token | context) of each generated token under softmax(logits / temperature), before
  // top-k/top-p (greedy: temperature 1): what trainers recompute with ComputeResponseLogProbs at
  // the same temperature, as verl and TRL take the policy's log-probs at the rollout temperature.
  std::vector<float> logprobs;
  FinishReason finish_reason = FinishReason::kLength;
};

struct GenerateOptions {
  // Run each request alone (batch of one): results are bit-identical whatever the batch, at the
  // cost of throughput. Default: all requests in one padded batch.
  bool per_request = false;
  // Sample with the tensor sampler (model/device_sampler.h) even on the CPU. Off the CPU it is
  // always used (only ids and log-probs reach the host); on the CPU the default host sampler
  // (SampleToken on each row in place) picks the same tokens, this flag exists to test that.
  bool device_sampler = false;
  // Rows of the decode batch (continuous batching): at most this many requests decode together
  // and a finished one's row is refilled from the requests still waiting, in request order.
  // 0 = every request at once, the rows of finished sequences dropped (a copy of the cache) at
  // each step where some finish.
  int32_t max_batch = 0;
  // Called once per request as soon as it finishes (in finishing order, on the calling thread,
  // before Generate returns), e.g. to stream completions while the others still decode.
  std::function<void(size_t index, const GenerationResult& result)> on_finished;
};

// Generates for every request (results in request order) on the model's device, in its dtype.
// Runs with autograd off.
// InvalidArgument naming the request index for an empty prompt, an id out of range, a negative
// temperature / max_new_tokens, top_p outside (0, 1], or a prompt + max_new_tokens longer than the
// model's context (config().max_position_embeddings); Internal for LibTorch failures.
// Thread-safety: uses `model` exclusively for the duration of the call.
absl::StatusOr<std::vector<GenerationResult>> Generate(
    CausalLmImpl& model, const std::vector<GenerationRequest>& requests,
    const GenerateOptions& options = {});

}  // namespace r1

#endif  // R1_MODEL_GENERATE_H_
