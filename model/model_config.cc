// ModelConfig <-> Hugging Face config.json (see model_config.h).
#include "model/model_config.h"

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

absl::Status KeyError(const std::string& key, const nlohmann::json& value, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("config.json: key \"", key, "\" = ", value.dump(), ": ", why));
}

// Reads integer `key` into `out` when present and not null.
absl::Status GetInt(const nlohmann::json& j, const std::string& key, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer()) return KeyError(key, *it, "expected an integer");
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

absl::Status GetDouble(const nlohmann::json& j, const std::string& key, double* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) return KeyError(key, *it, "expected a number");
  *out = it->get<double>();
  return absl::OkStatus();
}

absl::Status GetBool(const nlohmann::json& j, const std::string& key, bool* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return KeyError(key, *it, "expected true or false");
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status GetString(const nlohmann::json& j, const std::string& key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return KeyError(key, *it, "expected a string");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status GetOptionalId(const nlohmann::json& j, const std::string& key,
                           std::optional<int64_t>* out) {
  int64_t v = -1;
  if (!j.contains(key) || j[key].is_null()) return absl::OkStatus();
  R1_RETURN_IF_ERROR(GetInt(j, key, &v));
  *out = v;
  return absl::OkStatus();
}

absl::Status CheckPositive(const std::string& key, int64_t v) {
  if (v <= 0) return KeyError(key, v, "must be > 0");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateModelConfig(const ModelConfig& c) {
  if (c.model_type != "qwen2" && c.model_type != "llama") {
    return KeyError("model_type", c.model_type, "unsupported (expected \"qwen2\" or \"llama\")");
  }
  R1_RETURN_IF_ERROR(CheckPositive("vocab_size", c.vocab_size));
  R1_RETURN_IF_ERROR(CheckPositive("hidden_size", c.hidden_size));
  R1_RETURN_IF_ERROR(CheckPositive("intermediate_size", c.intermediate_size));
  R1_RETURN_IF_ERROR(CheckPositive("num_hidden_layers", c.num_hidden_layers));
  R1_RETURN_IF_ERROR(CheckPositive("num_attention_heads", c.num_attention_heads));
  R1_RETURN_IF_ERROR(CheckPositive("num_key_value_heads", c.num_key_value_heads));
  R1_RETURN_IF_ERROR(CheckPositive("head_dim", c.head_dim));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return KeyError("num_key_value_heads", c.num_key_value_heads,
                    absl::StrCat("must divide num_attention_heads (", c.num_attention_heads, ")"));
  }
  if (c.head_dim % 2 != 0) return KeyError("head_dim", c.head_dim, "must be even (rotary)");
  if (!(c.rms_norm_eps > 0)) return KeyError("rms_norm_eps", c.rms_norm_eps, "must be > 0");
  if (!(c.rope_theta > 0)) return KeyError("rope_theta", c.rope_theta, "must be > 0");
  if (!(c.initializer_range >= 0)) {
    return KeyError("initializer_range", c.initializer_range, "must be >= 0");
  }
  if (c.torch_dtype != "float32" && c.torch_dtype != "bfloat16" && c.torch_dtype != "float16") {
    return KeyError("torch_dtype", c.torch_dtype,
                    "unsupported (expected float32, bfloat16 or float16)");
  }
  auto check_id = [&](const std::string& key, int64_t id) -> absl::Status {
    if (id < 0 || id >= c.vocab_size) {
      return KeyError(key, id, absl::StrCat("outside [0, vocab_size=", c.vocab_size, ")"));
    }
    return absl::OkStatus();
  };
  if (c.bos_token_id) R1_RETURN_IF_ERROR(check_id("bos_token_id", *c.bos_token_id));
  if (c.pad_token_id) R1_RETURN_IF_ERROR(check_id("pad_token_id", *c.pad_token_id));
  for (int64_t id : c.eos_token_ids) R1_RETURN_IF_ERROR(check_id("eos_token_id", id));
  return absl::OkStatus();
}

absl::StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("config.json: not a JSON object");
  ModelConfig c;
  R1_RETURN_IF_ERROR(GetString(j, "model_type", &c.model_type));
  if (!j.contains("model_type")) {
    return absl::InvalidArgumentError("config.json: missing key \"model_type\"");
  }
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads"}) {
    if (!j.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat("config.json: missing key \"", key, "\""));
    }
  }
  R1_RETURN_IF_ERROR(GetInt(j, "vocab_size", &c.vocab_size));
  R1_RETURN_IF_ERROR(GetInt(j, "hidden_size", &c.hidden_size));
  R1_RETURN_IF_ERROR(GetInt(j, "intermediate_size", &c.intermediate_size));
  R1_RETURN_IF_ERROR(GetInt(j, "num_hidden_layers", &c.num_hidden_layers));
  R1_RETURN_IF_ERROR(GetInt(j, "num_attention_heads", &c.num_attention_heads));
  R1_RETURN_IF_ERROR(CheckPositive("num_attention_heads", c.num_attention_heads));
  c.num_key_value_heads = c.num_attention_heads;
  R1_RETURN_IF_ERROR(GetInt(j, "num_key_value_heads", &c.num_key_value_heads));
  c.head_dim = c.hidden_size / c.num_attention_heads;
  R1_RETURN_IF_ERROR(GetInt(j, "head_dim", &c.head_dim));
  R1_RETURN_IF_ERROR(GetDouble(j, "rms_norm_eps", &c.rms_norm_eps));
  R1_RETURN_IF_ERROR(GetDouble(j, "rope_theta", &c.rope_theta));
  R1_RETURN_IF_ERROR(GetInt(j, "max_position_embeddings", &c.max_position_embeddings));
  R1_RETURN_IF_ERROR(GetBool(j, "tie_word_embeddings", &c.tie_word_embeddings));
  R1_RETURN_IF_ERROR(GetDouble(j, "initializer_range", &c.initializer_range));
  R1_RETURN_IF_ERROR(GetString(j, "torch_dtype", &c.torch_dtype));
  if (c.model_type == "qwen2") {
    c.qkv_bias = true;  // transformers' Qwen2Attention: q/k/v bias=True, o_proj bias=False
    c.o_bias = false;
  } else {
    bool attention_bias = false;
    R1_RETURN_IF_ERROR(GetBool(j, "attention_bias", &attention_bias));
    c.qkv_bias = c.o_bias = attention_bias;
    bool mlp_bias = false;
    R1_RETURN_IF_ERROR(GetBool(j, "mlp_bias", &mlp_bias));
    if (mlp_bias) return KeyError("mlp_bias", true, "unsupported");
  }
  std::string act = "silu";
  R1_RETURN_IF_ERROR(GetString(j, "hidden_act", &act));
  if (act != "silu") return KeyError("hidden_act", act, "unsupported (expected \"silu\")");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    return KeyError("rope_scaling", j["rope_scaling"], "unsupported (only null)");
  }
  bool sliding = false;
  R1_RETURN_IF_ERROR(GetBool(j, "use_sliding_window", &sliding));
  if (sliding) return KeyError("use_sliding_window", true, "unsupported");
  R1_RETURN_IF_ERROR(GetOptionalId(j, "bos_token_id", &c.bos_token_id));
  R1_RETURN_IF_ERROR(GetOptionalId(j, "pad_token_id", &c.pad_token_id));
  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    const auto& e = j["eos_token_id"];
    if (e.is_number_integer()) {
      c.eos_token_ids.push_back(e.get<int64_t>());
    } else if (e.is_array()) {
      for (const auto& x : e) {
        if (!x.is_number_integer()) return KeyError("eos_token_id", e, "expected integers");
        c.eos_token_ids.push_back(x.get<int64_t>());
      }
    } else {
      return KeyError("eos_token_id", e, "expected an integer or a list of integers");
    }
  }
  R1_RETURN_IF_ERROR(ValidateModelConfig(c));
  return c;
}

absl::StatusOr<ModelConfig> LoadModelConfigFile(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON"));
  auto config = ParseModelConfig(j);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

nlohmann::json ModelConfigToJson(const ModelConfig& c) {
  nlohmann::json j;
  const bool qwen = c.model_type == "qwen2";
  j["architectures"] = {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = nullptr;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["initializer_range"] = c.initializer_range;
  j["torch_dtype"] = c.torch_dtype;
  j["use_cache"] = true;
  j["attention_dropout"] = 0.0;
  if (qwen) {
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
    j["max_window_layers"] = c.num_hidden_layers;
  } else {
    j["attention_bias"] = c.qkv_bias;
    j["mlp_bias"] = false;
    j["pretraining_tp"] = 1;
  }
  j["bos_token_id"] = c.bos_token_id ? nlohmann::json(*c.bos_token_id) : nlohmann::json(nullptr);
  j["pad_token_id"] = c.pad_token_id ? nlohmann::json(*c.pad_token_id) : nlohmann::json(nullptr);
  if (c.eos_token_ids.size() == 1) {
    j["eos_token_id"] = c.eos_token_ids[0];
  } else if (c.eos_token_ids.empty()) {
    j["eos_token_id"] = nullptr;
  } else {
    j["eos_token_id"] = c.eos_token_ids;
  }
  return j;
}

int64_t NumParameters(const ModelConfig& c) {
  const int64_t C = c.hidden_size, D = c.head_dim, H = c.num_attention_heads,
                Hkv = c.num_key_value_heads, I = c.intermediate_size, V = c.vocab_size;
  int64_t attn = C * H * D + 2 * C * Hkv * D + H * D * C;
  if (c.qkv_bias) attn += H * D + 2 * Hkv * D;
  if (c.o_bias) attn += C;
  const int64_t layer = attn + 3 * C * I + 2 * C;
  return V * C + c.num_hidden_layers * layer + C + (c.tie_word_embeddings ? 0 : V * C);
}

}  // namespace r1
