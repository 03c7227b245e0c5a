// Batched generation with a KV cache (see generate.h).
#include "model/generate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/exceptions.h"
#include "base/status_macros.h"
#include "model/device_sampler.h"

namespace r1 {
namespace {

absl::Status ValidateRequest(const GenerationRequest& r, size_t index, int64_t vocab_size,
                             int64_t context) {
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
  // The KV cache holds prompt + max_new_tokens positions: beyond the model's context it would
  // only grow the allocation (an absurd max_new_tokens must not exhaust memory).
  const int64_t positions = static_cast<int64_t>(r.prompt_ids.size()) + r.max_new_tokens;
  if (positions > context) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, "prompt of ", r.prompt_ids.size(), " tokens + max_new_tokens ", r.max_new_tokens,
        " = ", positions, " exceeds the model's context (max_position_embeddings=", context, ")"));
  }
  return absl::OkStatus();
}

// 1 / temperature for the returned log-probs; greedy decoding reports the model's own log-probs.
float LogprobScale(const SamplingParams& sampling) {
  return sampling.temperature > 0.0f ? 1.0f / sampling.temperature : 1.0f;
}

// Samples one token per row of logits [B', V] (CPU) with SampleToken on each row in place:
// tokens[k] and its log-prob for request requests[active[k]].
void SampleOnHost(at::Tensor logits, const std::vector<GenerationRequest>& requests,
                  const std::vector<size_t>& active, const std::vector<GenerationResult>& results,
                  std::vector<int32_t>& tokens, std::vector<float>& logprobs) {
  logits = logits.to(at::kFloat).contiguous();
  // The returned log-probs are under logits / temperature (1 for greedy), row by row.
  std::vector<float> inv_temperature;
  for (size_t i : active) inv_temperature.push_back(LogprobScale(requests[i].sampling));
  const at::Tensor lse =
      (logits * torch::tensor(inv_temperature).unsqueeze(1)).logsumexp(-1);  // [B']
  const auto lse_a = lse.accessor<float, 1>();
  const int64_t v = logits.size(1);
  const float* data = logits.data_ptr<float>();
  for (size_t k = 0; k < active.size(); ++k) {
    const GenerationRequest& req = requests[active[k]];
    absl::Span<const float> row(data + k * v, v);
    const uint64_t step = results[active[k]].token_ids.size();
    const int32_t token = SampleToken(row, req.sampling, UniformForStep(req.sampling.seed, step));
    tokens[k] = token;
    logprobs[k] = row[token] * inv_temperature[k] - lse_a[k];
  }
}

// The same with the tensor sampler on the logits' device; `sampling` holds the rows of `active`.
// The step's only device->host copy is of the sampled ids and their log-probs.
void SampleWithTensors(const at::Tensor& logits, const SamplingTensors& sampling,
                       const std::vector<GenerationRequest>& requests,
                       const std::vector<size_t>& active,
                       const std::vector<GenerationResult>& results, std::vector<int32_t>& tokens,
                       std::vector<float>& logprobs) {
  std::vector<double> u;
  for (size_t i : active) {
    u.push_back(UniformForStep(requests[i].sampling.seed, results[i].token_ids.size()));
  }
  const SampledTokens sampled =
      SampleTokensOnDevice(logits, sampling, torch::tensor(u, at::kDouble).to(logits.device()));
  // f64 holds both the ids and the f32 log-probs exactly.
  const at::Tensor host =
      at::stack({sampled.ids.to(at::kDouble), sampled.logprobs.to(at::kDouble)}).to(at::kCPU);
  const auto h = host.accessor<double, 2>();
  for (size_t k = 0; k < active.size(); ++k) {
    tokens[k] = static_cast<int32_t>(h[0][k]);
    logprobs[k] = static_cast<float>(h[1][k]);
  }
}

// Generates for requests[indices[k]] in one padded batch, writing results[indices[k]].
void GenerateBatch(CausalLmImpl& model, const std::vector<GenerationRequest>& requests,
                   const std::vector<size_t>& indices, bool device_sampler,
                   std::vector<GenerationResult>& results) {
  const at::Device device = model.options().device();
  const auto i64 = at::TensorOptions().dtype(at::kLong).device(device);
  const bool host_sampler = device.is_cpu() && !device_sampler;
  const int64_t b = static_cast<int64_t>(indices.size());
  int64_t p = 0, n = 0;
  for (size_t i : indices) {
    p = std::max<int64_t>(p, requests[i].prompt_ids.size());
    n = std::max<int64_t>(n, requests[i].max_new_tokens);
  }
  // Left padding, so every row's next token goes at the same cache position. Filled on the CPU,
  // then one copy each to the device.
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
  ids = ids.to(device);
  mask = mask.to(device);
  KvCache cache = model.NewCache(b, p + n);
  at::Tensor logits =
      model.Forward(ids, mask, PositionIdsFromMask(mask), &cache).select(1, p - 1);  // [B, V]
  std::vector<size_t> active = indices;  // slot -> request index
  SamplingTensors sampling;              // rows of `active`, for the tensor sampler
  if (!host_sampler) {
    std::vector<SamplingParams> params;
    for (size_t i : indices) params.push_back(requests[i].sampling);
    sampling = MakeSamplingTensors(params, device);
  }
  while (true) {
    std::vector<int32_t> tokens(active.size());
    std::vector<float> logprobs(active.size());
    if (host_sampler) {
      SampleOnHost(logits, requests, active, results, tokens, logprobs);
    } else {
      SampleWithTensors(logits, sampling, requests, active, results, tokens, logprobs);
    }
    std::vector<int64_t> keep;
    std::vector<int64_t> next;  // the kept rows' tokens, then their positions
    std::vector<int64_t> next_positions;
    for (size_t k = 0; k < active.size(); ++k) {
      const GenerationRequest& req = requests[active[k]];
      GenerationResult& res = results[active[k]];
      const int32_t token = tokens[k];
      res.token_ids.push_back(token);
      res.logprobs.push_back(logprobs[k]);
      const bool stop = std::find(req.stop_token_ids.begin(), req.stop_token_ids.end(), token) !=
                        req.stop_token_ids.end();
      if (stop) {
        res.finish_reason = FinishReason::kStop;
      } else if (static_cast<int32_t>(res.token_ids.size()) >= req.max_new_tokens) {
        res.finish_reason = FinishReason::kLength;
      } else {
        keep.push_back(static_cast<int64_t>(k));
        next.push_back(token);
        next_positions.push_back(
            static_cast<int64_t>(req.prompt_ids.size() + res.token_ids.size()) - 1);
      }
    }
    if (keep.empty()) break;
    if (keep.size() < active.size()) {
      const at::Tensor rows = torch::tensor(keep, torch::kInt64).to(device);
      cache.SelectRows(rows);
      if (!host_sampler) sampling = sampling.SelectRows(rows);
      std::vector<size_t> still;
      for (int64_t k : keep) still.push_back(active[k]);
      active = std::move(still);
    }
    const int64_t rows = static_cast<int64_t>(active.size());
    next.insert(next.end(), next_positions.begin(), next_positions.end());
    const at::Tensor step = torch::tensor(next, torch::kInt64).view({2, rows}).to(device);
    const at::Tensor step_ids = step.select(0, 0).unsqueeze(1);  // [B', 1]
    const at::Tensor step_pos = step.select(0, 1).unsqueeze(1);
    const at::Tensor step_mask = torch::ones({rows, 1}, i64);
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
    R1_RETURN_IF_ERROR(ValidateRequest(requests[i], i, model.config().vocab_size,
                                       model.config().max_position_embeddings));
  }
  std::vector<GenerationResult> results(requests.size());
  std::vector<size_t> todo;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].max_new_tokens > 0) todo.push_back(i);
  }
  if (todo.empty()) return results;
  R1_RETURN_IF_ERROR(CatchExceptions("generation", [&]() -> absl::Status {
    at::NoGradGuard no_grad;
    if (options.per_request) {
      for (size_t i : todo) GenerateBatch(model, requests, {i}, options.device_sampler, results);
    } else {
      GenerateBatch(model, requests, todo, options.device_sampler, results);
    }
    return absl::OkStatus();
  }));
  return results;
}

}  // namespace r1
