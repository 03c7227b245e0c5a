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
                                              int64_t vocab_size, int64_t context) {
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
    const int64_t length = static_cast<int64_t>(prompts[i].size() + responses[i].size());
    if (length > context) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", i, ": prompt + response = ", length,
                       " tokens exceeds the model's context (max_position_embeddings=", context,
                       ")"));
    }
    t = std::max<int64_t>(t, length);
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

// Log-probs [b, R] (0 at padding) of one padded batch, on the model's device.
at::Tensor ForwardPacked(CausalLmImpl& model, const PackedSequences& packed_cpu,
                         float temperature) {
  const at::Device device = model.options().device();
  const PackedSequences packed = packed_cpu.To(device);
  auto hidden = model.Hidden(packed.input_ids, packed.attention_mask, packed.position_ids);
  // The LM head only at the R predicting positions: [B, R, C] -> [B, R, V].
  const int64_t c = hidden.size(2);
  auto picked = LogitsForLogprobs(
      model.LmHead(hidden.gather(1, packed.target_index.unsqueeze(-1).expand({-1, -1, c}))));
  if (temperature != 1.0f) picked = picked / temperature;
  // log p(token) = logit(token) - logsumexp(logits): the logits are already the predicting
  // positions, so no second [B, R, V] gather.
  const at::Tensor chosen = picked.gather(2, packed.target_ids.unsqueeze(-1)).squeeze(-1);
  return (chosen - picked.logsumexp(-1)) * packed.response_mask.to(picked.scalar_type());
}

// Packs and runs the sequences of `rows` (indices into prompts/responses) as one batch.
absl::StatusOr<at::Tensor> ForwardRows(CausalLmImpl& model,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       const std::vector<std::vector<int32_t>>& responses,
                                       const std::vector<size_t>& rows, float temperature) {
  std::vector<std::vector<int32_t>> p, r;
  for (size_t i : rows) {
    p.push_back(prompts[i]);
    r.push_back(responses[i]);
  }
  R1_ASSIGN_OR_RETURN(PackedSequences packed, PackSequences(p, r, model.config().vocab_size,
                                                            model.config().max_position_embeddings));
  return ForwardPacked(model, packed, temperature);
}

absl::StatusOr<ResponseLogProbs> Compute(CausalLmImpl& model,
                                         const std::vector<std::vector<int32_t>>& prompts,
                                         const std::vector<std::vector<int32_t>>& responses,
                                         float temperature, int64_t chunk_tokens) {
  R1_RETURN_IF_ERROR(CheckLogprobTemperature(temperature));
  // The whole batch first: validates (errors name the caller's index) and gives the mask.
  auto packed_cpu = PackSequences(prompts, responses, model.config().vocab_size,
                                  model.config().max_position_embeddings);
  if (!packed_cpu.ok()) return packed_cpu.status();
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < prompts.size(); ++i) {
    lengths.push_back(static_cast<int64_t>(prompts[i].size() + responses[i].size()));
  }
  const std::vector<std::vector<size_t>> chunks = PlanLogprobChunks(lengths, chunk_tokens);
  return CatchExceptions("log-probs forward", [&]() -> absl::StatusOr<ResponseLogProbs> {
    const at::Device device = model.options().device();
    ResponseLogProbs out;
    out.mask = packed_cpu->response_mask.to(device);
    if (chunks.size() == 1) {
      out.logprobs = ForwardPacked(model, *packed_cpu, temperature);
      return out;
    }
    // Chunk results padded to R columns, concatenated in chunk order, then put back in the
    // caller's order (index_select keeps the result differentiable).
    const int64_t width = packed_cpu->response_mask.size(1);
    std::vector<at::Tensor> parts;
    std::vector<int64_t> order;
    for (const std::vector<size_t>& rows : chunks) {
      R1_ASSIGN_OR_RETURN(at::Tensor lp, ForwardRows(model, prompts, responses, rows, temperature));
      parts.push_back(at::constant_pad_nd(lp, {0, width - lp.size(1)}, 0.0));
      for (size_t i : rows) order.push_back(static_cast<int64_t>(i));
    }
    at::Tensor inverse = torch::empty({static_cast<int64_t>(order.size())}, torch::kInt64);
    auto inv = inverse.accessor<int64_t, 1>();
    for (size_t k = 0; k < order.size(); ++k) inv[order[k]] = static_cast<int64_t>(k);
    out.logprobs = torch::cat(parts, 0).index_select(0, inverse.to(device));
    return out;
  });
}

}  // namespace

std::vector<std::vector<size_t>> PlanLogprobChunks(const std::vector<int64_t>& lengths,
                                                   int64_t chunk_tokens, int64_t max_sequences) {
  std::vector<size_t> order(lengths.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (chunk_tokens <= 0 && max_sequences <= 0) return {order};
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<size_t>> chunks;
  int64_t longest = 0;  // of the open chunk: its first (longest) sequence
  for (size_t i : order) {
    const int64_t size = chunks.empty() ? 0 : static_cast<int64_t>(chunks.back().size());
    if (chunks.empty() || (chunk_tokens > 0 && (size + 1) * longest > chunk_tokens) ||
        (max_sequences > 0 && size >= max_sequences)) {
      chunks.emplace_back();
      longest = std::max<int64_t>(lengths[i], 1);
    }
    chunks.back().push_back(i);
  }
  return chunks;
}

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
  return Compute(model, prompts, responses, temperature, /*chunk_tokens=*/0);
}

absl::StatusOr<ResponseLogProbs> ComputeResponseLogProbsNoGrad(
    CausalLmImpl& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<std::vector<int32_t>>& responses, float temperature, int64_t chunk_tokens) {
  at::NoGradGuard no_grad;
  return Compute(model, prompts, responses, temperature, chunk_tokens);
}

}  // namespace r1
