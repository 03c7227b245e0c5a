// Batched generation with a KV cache (see generate.h).
#include "model/generate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

absl::Status ValidateRequest(const GenerationRequest& r, size_t index, int64_t vocab_size) {
  const std::string where = absl::StrCat("request ", index, ": ");
  if (r.prompt_ids.empty()) return absl::InvalidArgumentError(where + "empty prompt");
  for (int32_t id : r.prompt_ids) {
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "token id ", id, " outside [0, vocab_size=", vocab_size, ")"));
    }
  }
  if (!(r.sampling.temperature >= 0.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "temperature ", r.sampling.temperature, " < 0"));
  }
  if (!(r.sampling.top_p > 0.0f && r.sampling.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "top_p ", r.sampling.top_p, " outside (0, 1]"));
  }
  if (r.sampling.top_k < 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, "top_k ", r.sampling.top_k, " < 0"));
  }
  if (r.max_new_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "max_new_tokens ", r.max_new_tokens, " < 0"));
  }
  return absl::OkStatus();
}

// 1 / temperature for the returned log-probs; greedy decoding reports the model's own log-probs.
float LogprobScale(const SamplingParams& sampling) {
  return sampling.temperature > 0.0f ? 1.0f / sampling.temperature : 1.0f;
}

// Generates for requests[indices[k]] in one padded batch, writing results[indices[k]].
void GenerateBatch(CausalLmImpl& model, const std::vector<GenerationRequest>& requests,
                   const std::vector<size_t>& indices, std::vector<GenerationResult>& results) {
  const int64_t b = static_cast<int64_t>(indices.size());
  int64_t p = 0, n = 0;
  for (size_t i : indices) {
    p = std::max<int64_t>(p, requests[i].prompt_ids.size());
    n = std::max<int64_t>(n, requests[i].max_new_tokens);
  }
  // Left padding, so every row's next token goes at the same cache position.
  auto ids = torch::zeros({b, p}, torch::kInt64);
  auto mask = torch::zeros({b, p}, torch::kInt64);
  {
    auto ids_a = ids.accessor<int64_t, 2>();
    auto mask_a = mask.accessor<int64_t, 2>();
    for (int64_t k = 0; k < b; ++k) {
      const auto& prompt = requests[indices[k]].prompt_ids;
      const int64_t pad = p - static_cast<int64_t>(prompt.size());
      for (size_t j = 0; j < prompt.size(); ++j) {
        ids_a[k][pad + j] = prompt[j];
        mask_a[k][pad + j] = 1;
      }
    }
  }
  KvCache cache = model.NewCache(b, p + n);
  at::Tensor logits =
      model.Forward(ids, mask, PositionIdsFromMask(mask), &cache).select(1, p - 1);  // [B, V]
  std::vector<size_t> active = indices;  // slot -> request index
  while (true) {
    logits = logits.contiguous();
    // The returned log-probs are under logits / temperature (1 for greedy), row by row.
    std::vector<float> inv_temperature;
    for (size_t i : active) inv_temperature.push_back(LogprobScale(requests[i].sampling));
    const at::Tensor lse =
        (logits * torch::tensor(inv_temperature).unsqueeze(1)).logsumexp(-1);  // [B']
    const auto lse_a = lse.accessor<float, 1>();
    const int64_t v = logits.size(1);
    const float* data = logits.data_ptr<float>();
    std::vector<int64_t> keep;
    std::vector<int64_t> next_tokens, next_positions;
    for (size_t k = 0; k < active.size(); ++k) {
      const GenerationRequest& req = requests[active[k]];
      GenerationResult& res = results[active[k]];
      absl::Span<const float> row(data + k * v, v);
      const uint64_t step = res.token_ids.size();
      const int32_t token = SampleToken(row, req.sampling, UniformForStep(req.sampling.seed, step));
      res.token_ids.push_back(token);
      res.logprobs.push_back(row[token] * inv_temperature[k] - lse_a[k]);
      const bool stop = std::find(req.stop_token_ids.begin(), req.stop_token_ids.end(), token) !=
                        req.stop_token_ids.end();
      if (stop) {
        res.finish_reason = FinishReason::kStop;
      } else if (static_cast<int32_t>(res.token_ids.size()) >= req.max_new_tokens) {
        res.finish_reason = FinishReason::kLength;
      } else {
        keep.push_back(static_cast<int64_t>(k));
        next_tokens.push_back(token);
        next_positions.push_back(
            static_cast<int64_t>(req.prompt_ids.size() + res.token_ids.size()) - 1);
      }
    }
    if (keep.empty()) break;
    if (keep.size() < active.size()) {
      cache.SelectRows(torch::tensor(keep, torch::kInt64));
      std::vector<size_t> still;
      for (int64_t k : keep) still.push_back(active[k]);
      active = std::move(still);
    }
    const int64_t rows = static_cast<int64_t>(active.size());
    auto step_ids = torch::tensor(next_tokens, torch::kInt64).view({rows, 1});
    auto step_pos = torch::tensor(next_positions, torch::kInt64).view({rows, 1});
    auto step_mask = torch::ones({rows, 1}, torch::kInt64);
    logits = model.Forward(step_ids, step_mask, step_pos, &cache).select(1, 0);
  }
}

}  // namespace

const char* FinishReasonName(FinishReason reason) {
  return reason == FinishReason::kStop ? "stop" : "length";
}

absl::StatusOr<std::vector<GenerationResult>> Generate(
    CausalLmImpl& model, const std::vector<GenerationRequest>& requests,
    const GenerateOptions& options) {
  for (size_t i = 0; i < requests.size(); ++i) {
    R1_RETURN_IF_ERROR(ValidateRequest(requests[i], i, model.config().vocab_size));
  }
  std::vector<GenerationResult> results(requests.size());
  std::vector<size_t> todo;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].max_new_tokens > 0) todo.push_back(i);
  }
  if (todo.empty()) return results;
  try {
    at::NoGradGuard no_grad;
    if (options.per_request) {
      for (size_t i : todo) GenerateBatch(model, requests, {i}, results);
    } else {
      GenerateBatch(model, requests, todo, results);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("generation: ", e.what()));
  }
  return results;
}

}  // namespace r1
