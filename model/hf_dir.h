// Hugging Face model directories: config.json + model.safetensors (or sharded with
// model.safetensors.index.json) + tokenizer files. The layout transformers and vLLM load, so a
// stage's output is usable elsewhere and a real checkpoint is a valid input.
#ifndef R1_MODEL_HF_DIR_H_
#define R1_MODEL_HF_DIR_H_

#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/tokenizers/tokenizer.h"

namespace r1 {

// Tensors by Hugging Face name ("model.layers.0.self_attn.q_proj.weight"). Sorted by name.
using NamedTensors = std::map<std::string, at::Tensor>;

struct HfModelFiles {
  nlohmann::json config;  // config.json as written
  NamedTensors tensors;   // CPU tensors in their stored dtype (F32, BF16 or F16)
};

// Reads config.json and every tensor of `dir` (single file or index + shards). Errors name the
// file and the problem (missing file, bad JSON, corrupt safetensors, a shard the index names that
// is missing, the same tensor in two shards).
absl::StatusOr<HfModelFiles> LoadHfModelDir(const std::string& dir);

// Writes `dir` atomically: everything goes into a temporary directory beside it that is renamed
// into place, so `dir` is either absent, the old complete directory, or the new complete one.
// An existing `dir` is replaced. `tokenizer` (may be null) writes its files there too.
absl::Status SaveHfModelDir(const std::string& dir, const nlohmann::json& config,
                            const NamedTensors& tensors, const Tokenizer* tokenizer);

}  // namespace r1

#endif  // R1_MODEL_HF_DIR_H_
