// The Qwen2/Llama decoder-only transformer as torch::nn modules whose parameter names are exactly
// Hugging Face's (model.embed_tokens.weight, model.layers.{i}.self_attn.q_proj.weight, ...,
// model.norm.weight, lm_head.weight unless tied): RMSNorm, rotary embeddings (rotate_half
// convention), grouped-query causal attention, SwiGLU MLP.
//
// Device and dtype: the module computes on its parameters' device in their dtype (the "compute
// dtype": f32 by default; bf16 or f64 after `model->to(device, dtype)`), as transformers does:
// rotary tables are computed in f32 and cast, RMSNorm and (for 16-bit types) the attention softmax
// run in f32 and cast back. Index inputs may live on any device; they are moved to the model's.
//
// Shape legend: B = batch, T = new positions, S = all positions (cache + new), C = hidden_size,
// V = vocab_size, H / Hkv = query / key-value heads, D = head_dim.
#ifndef R1_MODEL_TRANSFORMER_H_
#define R1_MODEL_TRANSFORMER_H_

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>

#include "model/kv_cache.h"
#include "model/model_config.h"

namespace r1 {

class DecoderBody;  // model.* (embeddings, layers, final norm); defined in transformer.cc

// Thread-safety: a module may be used by one thread at a time (LibTorch modules are not
// synchronised); forwards with no gradient may run concurrently on distinct caches.
class CausalLmImpl : public torch::nn::Module {
 public:
  // Builds every parameter for `config` (which must pass ValidateModelConfig; a bad one throws).
  // Weights start at zero (norm weights at one): call InitWeights or LoadStateDict next.
  explicit CausalLmImpl(const ModelConfig& config);

  // Logits of every position.
  //   input_ids:      [B, T] i64, ids in [0, V)
  //   attention_mask: [B, T] i64 or bool, 1 = token, 0 = padding (left, right, or both)
  //   position_ids:   [B, T] i64 rotary positions (see PositionIdsFromMask)
  //   cache:          null for a plain forward; else keys/values of earlier positions are read
  //                   from it and those of these T positions appended (no gradient through it)
  // returns logits:   [B, T, V] in the compute dtype, on the model's device. Rows at padding
  // positions are finite but meaningless. Throws c10::Error on shape mismatch or an id out of range
  // (callers validate user input).
  at::Tensor Forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     const at::Tensor& position_ids, KvCache* cache = nullptr);

  // Final hidden states after model.norm: [B, T, C] in the compute dtype (e.g. for a value or
  // reward head).
  at::Tensor Hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                    const at::Tensor& position_ids, KvCache* cache = nullptr);

  // hidden [.., C] -> logits [.., V], both in the compute dtype on the model's device.
  at::Tensor LmHead(const at::Tensor& hidden);

  // A cache sized for this model: `batch` rows, `capacity` positions, in options().
  KvCache NewCache(int64_t batch, int64_t capacity) const;

  // Random init like transformers (initializer_range std normal for Linear/Embedding weights,
  // zero biases, unit norms), deterministic in `seed` and independent of the global RNG. Draws
  // in f32 on the CPU whatever the model's device and dtype, so every device gets the same
  // weights (rounded to its dtype).
  void InitWeights(uint64_t seed);

  // dtype and device of the parameters (the compute dtype): what every tensor the model makes
  // uses, and what callers use for tensors they feed it (caches, per-step inputs).
  at::TensorOptions options() const;

  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
  std::shared_ptr<DecoderBody> body_;
  at::Tensor lm_head_weight_;  // [V, C]; undefined when tied
};
TORCH_MODULE(CausalLm);

// Rotary positions for a padded batch: the running count of tokens minus one, 0 at padding.
// attention_mask: [B, T] -> [B, T] i64.
at::Tensor PositionIdsFromMask(const at::Tensor& attention_mask);

}  // namespace r1

#endif  // R1_MODEL_TRANSFORMER_H_
