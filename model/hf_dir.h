// Hugging Face model directories: config.json + model.safetensors (or sharded with
// model.safetensors.index.json) + tokenizer files. The layout transformers and vLLM load, so a
// stage's output is usable elsewhere and a real checkpoint is a valid input.
#ifndef R1_MODEL_HF_DIR_H_
#define R1_MODEL_HF_DIR_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/safetensors.h"
#include "model/tokenizers/tokenizer.h"

namespace r1 {

// NamedTensors (tensors by Hugging Face name, "model.layers.0.self_attn.q_proj.weight", sorted by
// name) is defined in model/safetensors.h.

struct HfModelFiles {
  nlohmann::json config;  // config.json as written
  NamedTensors tensors;   // CPU tensors in their stored dtype (F32, BF16 or F16)
  // generation_config.json when the directory has one.
  std::optional<nlohmann::json> generation_config;
};

// Reads config.json and every tensor of `dir` (single file or index + shards). Errors name the
// file and the problem (missing file, bad JSON, corrupt safetensors, a shard the index names that
// is missing, the same tensor in two shards).
// model.safetensors is preferred when both it and model.safetensors.index.json exist (as
// transformers does). With an index, every tensor its "weight_map" lists must be in the named
// shard; tensors a shard holds beyond the map are loaded too. Tensors are zero-copy views of the
// mapped files (see SafetensorsFile::Tensor): writing them in place never changes the files.
// NotFound: `dir`, config.json or the weights are missing, or a shard is missing;
// InvalidArgument / DataLoss: bad JSON or a corrupt safetensors file (see OpenSafetensors), a bad
// index, a tensor listed but absent, a tensor in two shards.
absl::StatusOr<HfModelFiles> LoadHfModelDir(const std::string& dir);

// Options of SaveHfModelDir beyond the common arguments.
struct HfSaveOptions {
  // 0: one model.safetensors. Otherwise tensors (in name order) are packed greedily into shards
  // "model-00001-of-0000N.safetensors" of at most this many tensor bytes (a larger tensor gets a
  // shard of its own), plus model.safetensors.index.json {"metadata": {"total_size"},
  // "weight_map"}, as transformers' save_pretrained does. A single shard is written as
  // model.safetensors.
  int64_t max_shard_bytes = 0;
  // Written as generation_config.json when set.
  std::optional<nlohmann::json> generation_config;
};

// Writes `dir` atomically: everything goes into a temporary directory beside it that is renamed
// into place, so `dir` is either absent, the old complete directory, or the new complete one.
// An existing `dir` is replaced. `tokenizer` (may be null) writes its files there too.
// Safetensors files carry the metadata {"format": "pt"} that transformers expects; config.json is
// pretty-printed with 2-space indent. Replacing an existing `dir`: the old one is renamed aside,
// the new one renamed in, then the old one removed; on any error before that the old one is
// untouched and the temporary directory removed. FailedPrecondition if `dir` exists and is not a
// directory; InvalidArgument for a tensor that cannot be stored (see WriteSafetensors); errors
// of the tokenizer's SaveTo are returned as they are.
absl::Status SaveHfModelDir(const std::string& dir, const nlohmann::json& config,
                            const NamedTensors& tensors, const Tokenizer* tokenizer);
absl::Status SaveHfModelDir(const std::string& dir, const nlohmann::json& config,
                            const NamedTensors& tensors, const Tokenizer* tokenizer,
                            const HfSaveOptions& options);

}  // namespace r1

#endif  // R1_MODEL_HF_DIR_H_
