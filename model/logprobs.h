// Per-token log-probabilities of given responses: log p(response[t] | prompt, response[<t]),
// batched over padded sequences. The trainers' policy/reference log-probs and the SFT loss.
//
// Shapes: B = sequences, R = longest response, T = longest prompt + response, V = vocab_size.
// Log-softmax runs in at least f32 (LogitsForLogprobs): a bf16 model gives f32 log-probs, an f64
// model f64; results are on the model's device.
#ifndef R1_MODEL_LOGPROBS_H_
#define R1_MODEL_LOGPROBS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "model/transformer.h"

namespace r1 {

// A right-padded batch of prompt + response sequences, on the CPU (move to the model's device
// before a forward: PackedSequences::To).
struct PackedSequences {
  at::Tensor input_ids;       // [B, T] i64, 0 at padding
  at::Tensor attention_mask;  // [B, T] i64
  at::Tensor position_ids;    // [B, T] i64
  at::Tensor target_index;    // [B, R] i64: position whose logits predict response token r
  at::Tensor target_ids;      // [B, R] i64: response token r (0 at padding)
  at::Tensor response_mask;   // [B, R] f32: 1 = a real response token

  // The same tensors on `device` (no copy for those already there).
  PackedSequences To(const at::Device& device) const;
};

// Packs prompts[i] + responses[i]. InvalidArgument naming the sequence index when the sizes
// differ, a prompt is empty (the first response token needs a context), the batch is empty, an
// id is outside [0, vocab_size), or a prompt + response is longer than `context` tokens (the
// model's max_position_embeddings: positions beyond it were never trained).
absl::StatusOr<PackedSequences> PackSequences(const std::vector<std::vector<int32_t>>& prompts,
                                              const std::vector<std::vector<int32_t>>& responses,
                                              int64_t vocab_size, int64_t context);

// Logits in the dtype log-softmax / logsumexp / entropy run in: at least f32 (bf16 and f16 are
// upcast to f32, f32 and f64 are returned as they are). Differentiable.
at::Tensor LogitsForLogprobs(const at::Tensor& logits);

// Log-prob of every target token given logits (on one device).
//   logits: [B, T, V] floating; target_index, target_ids: [B, R] i64
//   -> [B, R] in LogitsForLogprobs' dtype (differentiable)
at::Tensor GatherTokenLogProbs(const at::Tensor& logits, const at::Tensor& target_index,
                               const at::Tensor& target_ids);

struct ResponseLogProbs {
  at::Tensor logprobs;  // [B, R] f32 (f64 for an f64 model); 0 where mask is 0; model's device
  at::Tensor mask;      // [B, R] f32; 1 = real response token; model's device
};

// Log-probs of responses under softmax(logits / temperature) of `model`, differentiable w.r.t.
// its parameters (for training). RL passes its rollout temperature, so that the policy being
// trained is the distribution that sampled. InvalidArgument for temperature <= 0 and as
// PackSequences; LibTorch exceptions become Internal.
absl::StatusOr<ResponseLogProbs> ComputeResponseLogProbs(
    CausalLmImpl& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<std::vector<int32_t>>& responses, float temperature = 1.0f);

// Padded batch cells (sequences x longest prompt + response) per forward of
// ComputeResponseLogProbsNoGrad. One padded batch of GRPO's 128 rollouts (~22k cells) spent ~30%
// of its work on padding and ran its attention on [B, Hkv, rep, T, S] temporaries of ~60 MB per
// op, far larger than the cache; length-sorted chunks of 512-2048 cells ran the same forward
// 5-10x faster on one thread (bench/logprobs_bench).
inline constexpr int64_t kLogprobChunkTokens = 2048;

// Same values with autograd off (reference model, old policy, rollouts): less memory, no graph.
// The sequences run in chunks of similar length (PlanLogprobChunks(lengths, chunk_tokens));
// chunk_tokens <= 0 runs them as one padded batch. The results are in the caller's order and
// shaped as with one batch; chunking changes only which sequences share a padded batch.
absl::StatusOr<ResponseLogProbs> ComputeResponseLogProbsNoGrad(
    CausalLmImpl& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<std::vector<int32_t>>& responses, float temperature = 1.0f,
    int64_t chunk_tokens = kLogprobChunkTokens);

// Batches for sequences of the given lengths (prompt + response): the indices sorted by length,
// longest first (ties in index order), cut greedily so that a batch's size x its longest length
// stays <= chunk_tokens and its size <= max_sequences (a batch holds at least one sequence; <= 0
// leaves that bound off). Both bounds off: one batch of every index in order. Every index appears
// exactly once. Also the training micro-batches (TrainBatch::micro_batch_tokens).
std::vector<std::vector<size_t>> PlanLogprobChunks(const std::vector<int64_t>& lengths,
                                                   int64_t chunk_tokens, int64_t max_sequences = 0);

// InvalidArgument unless temperature is finite and > 0 (the scale of a log-prob computation).
absl::Status CheckLogprobTemperature(float temperature);

}  // namespace r1

#endif  // R1_MODEL_LOGPROBS_H_
