// ModelConfig: the shape of a Qwen2/Llama decoder-only transformer, parsed from and written to a
// Hugging Face config.json (the keys transformers' Qwen2Config / LlamaConfig use).
#ifndef R1_MODEL_MODEL_CONFIG_H_
#define R1_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace r1 {

struct ModelConfig {
  std::string model_type = "qwen2";        // "qwen2" or "llama"
  int64_t vocab_size = 0;                  // V: rows of embed_tokens / lm_head
  int64_t hidden_size = 0;                 // C: residual stream width
  int64_t intermediate_size = 0;           // SwiGLU inner width
  int64_t num_hidden_layers = 0;           // decoder layers
  int64_t num_attention_heads = 0;         // H: query heads
  int64_t num_key_value_heads = 0;         // Hkv: key/value heads (GQA); divides H
  int64_t head_dim = 0;                    // D: per-head width (HF default hidden_size / H)
  double rms_norm_eps = 1e-6;              // RMSNorm epsilon
  double rope_theta = 10000.0;             // rotary base
  int64_t max_position_embeddings = 2048;  // longest sequence generated, scored or trained on
  bool tie_word_embeddings = false;        // lm_head shares embed_tokens.weight
  bool qkv_bias = false;                   // q/k/v_proj have a bias (always for qwen2)
  bool o_bias = false;                     // o_proj has a bias (llama attention_bias only)
  double initializer_range = 0.02;         // std of the normal init of Linear/Embedding weights
  std::string torch_dtype = "float32";  // dtype the weights are stored in: float32/bfloat16/float16
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // HF allows an int or a list
  std::optional<int64_t> pad_token_id;
};

// Parses a config.json object. Missing optional keys get the HF defaults above; InvalidArgument
// naming the key and value for a wrong type, a non-positive size, heads that do not divide, an
// unsupported model_type / hidden_act / rope_scaling / sliding window / mlp_bias.
absl::StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& json);

// Reads and parses `path` (a config.json file). Errors name the path.
absl::StatusOr<ModelConfig> LoadModelConfigFile(const std::string& path);

// Checks the invariants ParseModelConfig enforces (for configs built in code).
absl::Status ValidateModelConfig(const ModelConfig& config);

// A config.json that transformers accepts for the same architecture (architectures
// Qwen2ForCausalLM / LlamaForCausalLM, model_type, every field above).
nlohmann::json ModelConfigToJson(const ModelConfig& config);

// Number of parameters the transformer built from `config` holds.
int64_t NumParameters(const ModelConfig& config);

}  // namespace r1

#endif  // R1_MODEL_MODEL_CONFIG_H_
