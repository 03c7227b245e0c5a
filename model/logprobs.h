// Per-token log-probabilities of given responses: log p(response[t] | prompt, response[<t]),
// batched over padded sequences. The trainers' policy/reference log-probs and the SFT loss.
//
// Shapes: B = sequences, R = longest response, T = longest prompt + response, V = vocab_size.
#ifndef R1_MODEL_LOGPROBS_H_
#define R1_MODEL_LOGPROBS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "model/transformer.h"

namespace r1 {

// A right-padded batch of prompt + response sequences.
struct PackedSequences {
  at::Tensor input_ids;       // [B, T] i64, 0 at padding
  at::Tensor attention_mask;  // [B, T] i64
  at::Tensor position_ids;    // [B, T] i64
  at::Tensor target_index;    // [B, R] i64: position whose logits predict response token r
  at::Tensor target_ids;      // [B, R] i64: response token r (0 at padding)
  at::Tensor response_mask;   // [B, R] f32: 1 = a real response token
};

// Packs prompts[i] + responses[i]. InvalidArgument naming the sequence index when the sizes
// differ, a prompt is empty (the first response token needs a context), the batch is empty, or an
// id is outside [0, vocab_size).
absl::StatusOr<PackedSequences> PackSequences(const std::vector<std::vector<int32_t>>& prompts,
                                              const std::vector<std::vector<int32_t>>& responses,
                                              int64_t vocab_size);

// Log-prob of every target token given logits.
//   logits: [B, T, V] f32; target_index, target_ids: [B, R] i64 -> [B, R] f32 (differentiable)
at::Tensor GatherTokenLogProbs(const at::Tensor& logits, const at::Tensor& target_index,
                               const at::Tensor& target_ids);

struct ResponseLogProbs {
  at::Tensor logprobs;  // [B, R] f32; 0 where mask is 0
  at::Tensor mask;      // [B, R] f32; 1 = real response token
};

// Log-probs of responses under softmax(logits / temperature) of `model`, differentiable w.r.t.
// its parameters (for training). RL passes its rollout temperature, so that the policy being
// trained is the distribution that sampled. InvalidArgument for temperature <= 0 and as
// PackSequences; LibTorch exceptions become Internal.
absl::StatusOr<ResponseLogProbs> ComputeResponseLogProbs(
    CausalLmImpl& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<std::vector<int32_t>>& responses, float temperature = 1.0f);

// Same values with autograd off (reference model, rollouts): less memory, no graph.
absl::StatusOr<ResponseLogProbs> ComputeResponseLogProbsNoGrad(
    CausalLmImpl& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<std::vector<int32_t>>& responses, float temperature = 1.0f);

// InvalidArgument unless temperature is finite and > 0 (the scale of a log-prob computation).
absl::Status CheckLogprobTemperature(float temperature);

}  // namespace r1

#endif  // R1_MODEL_LOGPROBS_H_
