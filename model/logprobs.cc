// Response log-probs (see logprobs.h).
#include "model/logprobs.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/exceptions.h"
#include "base/status_macros.h"

namespace r1 {

absl::StatusOr<PackedSequences> PackSequences(const std::vector<std::vector<int32_t>>& prompts,
                                              const std::vector<std::vector<int32_t>>& responses,
                                              int64_t vocab_size) {
  if (prompts.size() != responses.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prompts.size(), " prompts but ", responses.size(), " responses"));
  }
  if (prompts.empty()) return absl::InvalidArgumentError("no sequences");
  const int64_t b = static_cast<int64_t>(prompts.size());
  int64_t t = 1, r = 1;
  for (int64_t i = 0; i < b; ++i) {
    if (prompts[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", i, ": empty prompt"));
    }
    for (const auto* ids : {&prompts[i], &responses[i]}) {
      for (int32_t id : *ids) {
        if (id < 0 || id >= vocab_size) {
          return absl::InvalidArgumentError(absl::StrCat(
              "sequence ", i, ": token id ", id, " outside [0, vocab_size=", vocab_size, ")"));
        }
      }
    }
    t = std::max<int64_t>(t, prompts[i].size() + responses[i].size());
    r = std::max<int64_t>(r, responses[i].size());
  }
  PackedSequences out;
  out.input_ids = torch::zeros({b, t}, torch::kInt64);
  out.attention_mask = torch::zeros({b, t}, torch::kInt64);
  out.target_index = torch::zeros({b, r}, torch::kInt64);
  out.target_ids = torch::zeros({b, r}, torch::kInt64);
  out.response_mask = torch::zeros({b, r}, torch::kFloat32);
  auto ids = out.input_ids.accessor<int64_t, 2>();
  auto mask = out.attention_mask.accessor<int64_t, 2>();
  auto index = out.target_index.accessor<int64_t, 2>();
  auto target = out.target_ids.accessor<int64_t, 2>();
  auto rmask = out.response_mask.accessor<float, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const int64_t p = static_cast<int64_t>(prompts[i].size());
    for (int64_t j = 0; j < p; ++j) ids[i][j] = prompts[i][j];
    for (size_t j = 0; j < responses[i].size(); ++j) {
      ids[i][p + j] = responses[i][j];
      index[i][j] = p + j - 1;  // logits at the previous position predict this token
      target[i][j] = responses[i][j];
      rmask[i][j] = 1.0f;
    }
    for (int64_t j = 0; j < p + static_cast<int64_t>(responses[i].size()); ++j) mask[i][j] = 1;
  }
  out.position_ids = PositionIdsFromMask(out.attention_mask);
  return out;
}

PackedSequences PackedSequences::To(const at::Device& device) const {
  PackedSequences out;
  out.input_ids = input_ids.to(device);
  out.attention_mask = attention_mask.to(device);
  out.position_ids = position_ids.to(device);
  out.target_index = target_index.to(device);
  out.target_ids = target_ids.to(device);
  out.response_mask = response_mask.to(device);
  return out;
}

at::Tensor LogitsForLogprobs(const at::Tensor& logits) {
  return logits.to(at::promote_types(logits.scalar_type(), at::kFloat));
}

at::Tensor GatherTokenLogProbs(const at::Tensor& logits_in, const at::Tensor& target_index,
                               const at::Tensor& target_ids) {
  const at::Tensor logits = LogitsForLogprobs(logits_in);
  const int64_t v = logits.size(2);
  // Only the R predicting positions: [B, R, V].
  auto picked = logits.gather(1, target_index.unsqueeze(-1).expand({-1, -1, v}));
  auto chosen = picked.gather(2, target_ids.unsqueeze(-1)).squeeze(-1);  // [B, R]
  return chosen - picked.logsumexp(-1);
}

namespace {

absl::StatusOr<ResponseLogProbs> Compute(CausalLmImpl& model,
                                         const std::vector<std::vector<int32_t>>& prompts,
                                         const std::vector<std::vector<int32_t>>& responses,
                                         float temperature) {
  R1_RETURN_IF_ERROR(CheckLogprobTemperature(temperature));
  auto packed_cpu = PackSequences(prompts, responses, model.config().vocab_size);
  if (!packed_cpu.ok()) return packed_cpu.status();
  return CatchExceptions("log-probs forward", [&]() -> absl::StatusOr<ResponseLogProbs> {
    const at::Device device = model.options().device();
    const PackedSequences packed_on_device = packed_cpu->To(device);
    const PackedSequences* packed = &packed_on_device;
    auto hidden = model.Hidden(packed->input_ids, packed->attention_mask, packed->position_ids);
    // The LM head only at the R predicting positions: [B, R, C] -> [B, R, V].
    const int64_t c = hidden.size(2);
    auto picked = LogitsForLogprobs(
        model.LmHead(hidden.gather(1, packed->target_index.unsqueeze(-1).expand({-1, -1, c}))));
    if (temperature != 1.0f) picked = picked / temperature;
    auto r_index = torch::arange(picked.size(1), at::TensorOptions(at::kLong).device(device))
                       .unsqueeze(0)
                       .expand_as(packed->target_index);
    ResponseLogProbs out;
    out.mask = packed->response_mask;
    out.logprobs = GatherTokenLogProbs(picked, r_index, packed->target_ids) * out.mask;
    return out;
  });
}

}  // namespace

absl::Status CheckLogprobTemperature(float temperature) {
  if (!(temperature > 0.0f && std::isfinite(temperature))) {
    return absl::InvalidArgumentError(
        absl::StrCat("log-prob temperature must be finite and > 0, got ", temperature));
  }
  return absl::OkStatus();
}

absl::StatusOr<ResponseLogProbs> ComputeResponseLogProbs(
    CausalLmImpl& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<std::vector<int32_t>>& responses, float temperature) {
  return Compute(model, prompts, responses, temperature);
}

absl::StatusOr<ResponseLogProbs> ComputeResponseLogProbsNoGrad(
    CausalLmImpl& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<std::vector<int32_t>>& responses, float temperature) {
  at::NoGradGuard no_grad;
  return Compute(model, prompts, responses, temperature);
}

}  // namespace r1
