// A CausalLm to and from Hugging Face model directories (model/hf_dir.h) and state dicts keyed
// by Hugging Face tensor names: the bridge between checkpoints on disk and modules in memory.
#ifndef R1_MODEL_PRETRAINED_H_
#define R1_MODEL_PRETRAINED_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/hf_dir.h"
#include "model/model_config.h"
#include "model/tokenizers/tokenizer.h"
#include "model/transformer.h"

namespace r1 {

// A new model for `config` with random weights from `seed` (CausalLmImpl::InitWeights, drawn in
// f32 on the CPU) moved to the dtype and device of `options` (default f32 on the CPU).
// InvalidArgument if the config is invalid.
absl::StatusOr<CausalLm> NewCausalLm(const ModelConfig& config, uint64_t seed,
                                     const at::TensorOptions& options = at::kFloat);

// Every parameter by HF name, detached, converted to `dtype` ("float32", "bfloat16", "float16"),
// as contiguous CPU copies whatever the model's device (the caller may keep them while the model
// trains; this is the device -> host copy for saving).
NamedTensors ExportStateDict(CausalLmImpl& model, const std::string& dtype = "float32");

// Copies `tensors` (any dtype and device) into the model's parameters, converted to each
// parameter's dtype and device. InvalidArgument naming the
// tensor when one is missing or has the wrong shape, or when a tensor matches no parameter
// (except lm_head.weight of a tied model and rotary inv_freq buffers, which are ignored).
absl::Status ImportStateDict(CausalLmImpl& model, const NamedTensors& tensors);

// Loads config.json + safetensors from `dir`. Errors name the directory and the problem.
absl::StatusOr<CausalLm> LoadCausalLm(const std::string& dir);

// Writes `dir` (atomically, see SaveHfModelDir) with config.json from the model's config and the
// weights in the config's torch_dtype; `tokenizer` (may be null) adds its files.
absl::Status SaveCausalLm(const std::string& dir, CausalLmImpl& model, const Tokenizer* tokenizer);

}  // namespace r1

#endif  // R1_MODEL_PRETRAINED_H_
