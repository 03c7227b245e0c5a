// CausalLm <-> Hugging Face directories and state dicts (see pretrained.h).
#include "model/pretrained.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "model/dtype.h"

namespace r1 {
namespace {

// A config.json torch_dtype: float32 | bfloat16 | float16.
absl::StatusOr<at::ScalarType> StorageDtype(const std::string& name) {
  const std::optional<Dtype> dtype = DtypeByName(name);
  if (!dtype || *dtype == Dtype::kFloat64) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported dtype \"", name, "\""));
  }
  return ToScalarType(*dtype);
}

std::string ShapeString(const at::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

}  // namespace

absl::StatusOr<CausalLm> NewCausalLm(const ModelConfig& config, uint64_t seed,
                                     const at::TensorOptions& options) {
  R1_RETURN_IF_ERROR(ValidateModelConfig(config));
  CausalLm model(config);
  model->InitWeights(seed);
  const at::ScalarType dtype = at::typeMetaToScalarType(options.dtype());
  if (options.device() != model->options().device() || dtype != at::kFloat) {
    model->to(options.device(), dtype);
  }
  return model;
}

NamedTensors ExportStateDict(CausalLmImpl& model, const std::string& dtype) {
  const at::ScalarType type = StorageDtype(dtype).value_or(at::kFloat);
  NamedTensors out;
  at::NoGradGuard no_grad;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    // The one device -> host copy of each parameter (a fresh tensor even when nothing converts).
    out[p.key()] =
        p.value().detach().to(at::kCPU, type, /*non_blocking=*/false, /*copy=*/true).contiguous();
  }
  return out;
}

absl::Status ImportStateDict(CausalLmImpl& model, const NamedTensors& tensors) {
  auto params = model.named_parameters(/*recurse=*/true);
  for (const auto& p : params) {
    auto it = tensors.find(p.key());
    if (it == tensors.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing tensor \"", p.key(), "\" (shape ", ShapeString(p.value()), ")"));
    }
    if (it->second.sizes() != p.value().sizes()) {
      return absl::InvalidArgumentError(absl::StrCat("tensor \"", p.key(), "\" has shape ",
                                                     ShapeString(it->second), ", expected ",
                                                     ShapeString(p.value())));
    }
  }
  for (const auto& [name, tensor] : tensors) {
    if (params.find(name) != nullptr) continue;
    if (name == "lm_head.weight" && model.config().tie_word_embeddings) continue;
    if (absl::EndsWith(name, "rotary_emb.inv_freq")) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor \"", name, "\" matches no parameter of the ", model.config().model_type, " model"));
  }
  at::NoGradGuard no_grad;
  for (auto& p : params) {
    at::Tensor& param = p.value();
    param.copy_(tensors.at(p.key()).to(param.device(), param.scalar_type()));
  }
  return absl::OkStatus();
}

absl::StatusOr<CausalLm> LoadCausalLm(const std::string& dir) {
  R1_ASSIGN_OR_RETURN(HfModelFiles files, LoadHfModelDir(dir));
  auto config = ParseModelConfig(files.config);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, "/", config.status().message()));
  }
  CausalLm model(*config);
  absl::Status imported = ImportStateDict(*model, files.tensors);
  if (!imported.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": ", imported.message()));
  }
  return model;
}

absl::Status SaveCausalLm(const std::string& dir, CausalLmImpl& model, const Tokenizer* tokenizer) {
  R1_RETURN_IF_ERROR(StorageDtype(model.config().torch_dtype).status());
  return SaveHfModelDir(dir, ModelConfigToJson(model.config()),
                        ExportStateDict(model, model.config().torch_dtype), tokenizer);
}

}  // namespace r1
