// The Qwen2/Llama transformer (see transformer.h). Follows transformers' modeling_qwen2.py /
// modeling_llama.py so that a Hugging Face checkpoint gives the same logits.
#include "model/transformer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

namespace r1 {
namespace {

// y = x W^T (+ b). Parameters "weight" [out, in] and optionally "bias" [out].
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in, int64_t out, bool bias) {
    weight = register_parameter("weight", torch::zeros({out, in}));
    if (bias) this->bias = register_parameter("bias", torch::zeros({out}));
  }
  at::Tensor forward(const at::Tensor& x) { return at::linear(x, weight, bias); }
  at::Tensor weight;
  at::Tensor bias;  // undefined when absent
};
TORCH_MODULE(Linear);

// Parameter "weight" [V, C].
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num, int64_t dim) {
    weight = register_parameter("weight", torch::zeros({num, dim}));
  }
  at::Tensor forward(const at::Tensor& ids) { return at::embedding(weight, ids); }
  at::Tensor weight;
};
TORCH_MODULE(Embedding);

// The dtype a reduced-precision computation (norms, softmax) runs in: at least f32.
at::ScalarType AtLeastFloat(at::ScalarType t) { return at::promote_types(t, at::kFloat); }

// The most negative finite value of a floating dtype (the additive mask of a masked key).
double Lowest(at::ScalarType t) {
  switch (t) {
    case at::kDouble:
      return std::numeric_limits<double>::lowest();
    case at::kBFloat16:
      return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
    case at::kHalf:
      return static_cast<float>(std::numeric_limits<c10::Half>::lowest());
    default:
      return std::numeric_limits<float>::lowest();
  }
}

// weight * (x / sqrt(mean(x^2) + eps)), normalised in (at least) f32 and cast back to x's dtype
// before the weight, as transformers' Qwen2RMSNorm / LlamaRMSNorm.
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps) : eps_(eps) {
    weight = register_parameter("weight", torch::ones({dim}));
  }
  at::Tensor forward(const at::Tensor& x) {
    const at::Tensor xf = x.to(AtLeastFloat(x.scalar_type()));
    auto variance = xf.pow(2).mean(-1, /*keepdim=*/true);
    return weight * (xf * torch::rsqrt(variance + eps_)).to(x.scalar_type());
  }
  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

// rotate_half(x) = cat(-x2, x1) over the last dim, x1/x2 its halves.
at::Tensor RotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const ModelConfig& c)
      : heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim) {
    q_proj = register_module("q_proj", Linear(c.hidden_size, heads_ * head_dim_, c.qkv_bias));
    k_proj = register_module("k_proj", Linear(c.hidden_size, kv_heads_ * head_dim_, c.qkv_bias));
    v_proj = register_module("v_proj", Linear(c.hidden_size, kv_heads_ * head_dim_, c.qkv_bias));
    o_proj = register_module("o_proj", Linear(heads_ * head_dim_, c.hidden_size, c.o_bias));
  }

  // x: [B, T, C]; cos/sin: [B, 1, T, D]; bias: [B, 1, 1, T, S] additive mask -> [B, T, C].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& bias, KvCache* cache, int64_t layer) {
    const int64_t b = x.size(0), t = x.size(1);
    auto q = q_proj(x).view({b, t, heads_, head_dim_}).transpose(1, 2);     // [B, H, T, D]
    auto k = k_proj(x).view({b, t, kv_heads_, head_dim_}).transpose(1, 2);  // [B, Hkv, T, D]
    auto v = v_proj(x).view({b, t, kv_heads_, head_dim_}).transpose(1, 2);
    q = q * cos + RotateHalf(q) * sin;
    k = k * cos + RotateHalf(k) * sin;
    if (cache != nullptr) std::tie(k, v) = cache->Append(layer, k, v);  // [B, Hkv, S, D]
    const int64_t s = k.size(2), rep = heads_ / kv_heads_;
    // Grouped-query attention without copying K/V: query head h uses kv head h / rep.
    auto qg = q.reshape({b, kv_heads_, rep * t, head_dim_});
    auto scores = torch::matmul(qg, k.transpose(-1, -2)) / std::sqrt(double(head_dim_));
    scores = scores.view({b, kv_heads_, rep, t, s}) + bias;
    // Softmax in (at least) f32, cast back to the compute dtype.
    const at::ScalarType dtype = scores.scalar_type();
    auto probs = (dtype == AtLeastFloat(dtype) ? torch::softmax(scores, -1)
                                               : torch::softmax(scores, -1, at::kFloat).to(dtype))
                     .view({b, kv_heads_, rep * t, s});
    auto out = torch::matmul(probs, v).view({b, heads_, t, head_dim_});  // [B, H, T, D]
    return o_proj(out.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
  }

  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const ModelConfig& c) {
    gate_proj = register_module("gate_proj", Linear(c.hidden_size, c.intermediate_size, false));
    up_proj = register_module("up_proj", Linear(c.hidden_size, c.intermediate_size, false));
    down_proj = register_module("down_proj", Linear(c.intermediate_size, c.hidden_size, false));
  }
  at::Tensor forward(const at::Tensor& x) {
    return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
  }
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const ModelConfig& c) {
    self_attn = register_module("self_attn", Attention(c));
    mlp = register_module("mlp", Mlp(c));
    input_layernorm = register_module("input_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
    post_attention_layernorm =
        register_module("post_attention_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& bias, KvCache* cache, int64_t layer) {
    auto h = x + self_attn(input_layernorm(x), cos, sin, bias, cache, layer);
    return h + mlp(post_attention_layernorm(h));
  }
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

}  // namespace

// "model.*": embeddings, layers, final norm.
class DecoderBody : public torch::nn::Module {
 public:
  explicit DecoderBody(const ModelConfig& c) : config_(c) {
    embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size));
    auto list = torch::nn::ModuleList();
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      layers.push_back(DecoderLayer(c));
      list->push_back(layers.back());
    }
    register_module("layers", list);
    norm = register_module("norm", RmsNorm(c.hidden_size, c.rms_norm_eps));
    // inv_freq as transformers computes it: 1 / theta^(arange(0, D, 2) / D), in f32.
    inv_freq_ =
        1.0 / torch::pow(c.rope_theta,
                         torch::arange(0, c.head_dim, 2, torch::kInt64).to(torch::kFloat32) /
                             double(c.head_dim));
    inv_freq_ = inv_freq_.to(torch::kFloat32);
  }

  // inv_freq on `device`: an exact copy of the CPU values, made once per device.
  at::Tensor InvFreq(const at::Device& device) {
    if (device == inv_freq_.device()) return inv_freq_;
    std::lock_guard<std::mutex> lock(inv_freq_mu_);
    for (const at::Tensor& t : inv_freq_on_devices_) {
      if (t.device() == device) return t;
    }
    inv_freq_on_devices_.push_back(inv_freq_.to(device));
    return inv_freq_on_devices_.back();
  }

  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     const at::Tensor& position_ids, KvCache* cache) {
    TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [B, T], got ", input_ids.sizes());
    TORCH_CHECK(attention_mask.sizes() == input_ids.sizes(), "attention_mask ",
                attention_mask.sizes(), " != input_ids ", input_ids.sizes());
    TORCH_CHECK(position_ids.sizes() == input_ids.sizes(), "position_ids ", position_ids.sizes(),
                " != input_ids ", input_ids.sizes());
    const int64_t b = input_ids.size(0), t = input_ids.size(1);
    const at::Tensor& weight = embed_tokens->weight;
    const at::ScalarType dtype = weight.scalar_type();
    const at::Device device = weight.device();
    const auto i64 = at::TensorOptions().dtype(at::kLong).device(device);
    auto mask = attention_mask.to(device, at::kLong);
    int64_t past = 0;
    at::Tensor key_mask = mask;  // [B, S]
    if (cache != nullptr) {
      past = cache->length();
      key_mask = cache->BeginStep(mask);
    }
    const int64_t s = past + t;
    // Query i (absolute position past + i) sees key j iff j <= past + i and key j is a token.
    auto causal = torch::arange(s, i64).unsqueeze(0) <=
                  (torch::arange(t, i64) + past).unsqueeze(1);          // [T, S]
    auto allowed = causal.unsqueeze(0) & (key_mask != 0).unsqueeze(1);  // [B, T, S]
    auto bias = torch::zeros({b, t, s}, weight.options())
                    .masked_fill(allowed.logical_not(), Lowest(dtype))
                    .view({b, 1, 1, t, s});
    // Rotary tables in f32: freqs [B, T, D/2] -> emb = cat(freqs, freqs) [B, T, D], then cos/sin
    // cast to the compute dtype.
    auto freqs = position_ids.to(device, at::kFloat).unsqueeze(-1) * InvFreq(device);
    auto emb = torch::cat({freqs, freqs}, -1);
    auto cos = emb.cos().unsqueeze(1).to(dtype), sin = emb.sin().unsqueeze(1).to(dtype);
    auto h = embed_tokens(input_ids.to(device));
    for (size_t i = 0; i < layers.size(); ++i) {
      h = layers[i](h, cos, sin, bias, cache, static_cast<int64_t>(i));
    }
    if (cache != nullptr) cache->EndStep();
    return norm(h);
  }

  ModelConfig config_;
  Embedding embed_tokens{nullptr};
  std::vector<DecoderLayer> layers;
  RmsNorm norm{nullptr};
  at::Tensor inv_freq_;  // [D/2] f32 on the CPU, not a parameter

 private:
  std::mutex inv_freq_mu_;
  std::vector<at::Tensor> inv_freq_on_devices_;  // copies of inv_freq_ on other devices
};

CausalLmImpl::CausalLmImpl(const ModelConfig& config) : config_(config) {
  const absl::Status valid = ValidateModelConfig(config);
  TORCH_CHECK(valid.ok(), "CausalLm: ", std::string(valid.message()));
  body_ = register_module("model", std::make_shared<DecoderBody>(config));
  if (!config.tie_word_embeddings) {
    lm_head_weight_ =
        register_module("lm_head", Linear(config.hidden_size, config.vocab_size, false))->weight;
  }
}

at::Tensor CausalLmImpl::Hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                const at::Tensor& position_ids, KvCache* cache) {
  return body_->forward(input_ids, attention_mask, position_ids, cache);
}

at::Tensor CausalLmImpl::LmHead(const at::Tensor& hidden) {
  return at::linear(hidden,
                    config_.tie_word_embeddings ? body_->embed_tokens->weight : lm_head_weight_);
}

at::Tensor CausalLmImpl::Forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                 const at::Tensor& position_ids, KvCache* cache) {
  return LmHead(Hidden(input_ids, attention_mask, position_ids, cache));
}

KvCache CausalLmImpl::NewCache(int64_t batch, int64_t capacity) const {
  return KvCache(config_.num_hidden_layers, batch, config_.num_key_value_heads, capacity,
                 config_.head_dim, options());
}

at::TensorOptions CausalLmImpl::options() const {
  const at::Tensor& w = body_->embed_tokens->weight;
  return at::TensorOptions().dtype(w.scalar_type()).device(w.device());
}

void CausalLmImpl::InitWeights(uint64_t seed) {
  at::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& p : named_parameters(/*recurse=*/true)) {
    const std::string& name = p.key();
    auto& param = p.value();
    // Draw into the parameter itself when it is CPU f32, else into a CPU f32 copy (same draws).
    const bool direct = param.device().is_cpu() && param.scalar_type() == at::kFloat;
    at::Tensor w = direct ? param : at::empty(param.sizes(), at::kFloat);
    const auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with("norm.weight")) {
      w.fill_(1.0);
    } else if (ends_with(".bias")) {
      w.zero_();
    } else {
      w.normal_(0.0, config_.initializer_range, gen);
    }
    if (!direct) param.copy_(w);
  }
}

at::Tensor PositionIdsFromMask(const at::Tensor& attention_mask) {
  auto m = attention_mask.to(torch::kInt64);
  return (m.cumsum(1) - 1).clamp_min(0) * m;
}

}  // namespace r1
