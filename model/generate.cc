// Batched generation with a KV cache (see generate.h).
#include "model/generate.h"

#include <algorithm>
#include <deque>
#include <numeric>
#include <optional>

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

// Continuous batching over a fixed number of batch rows ("slots"); with as many rows as requests
// (max_batch 0) it is plain batched generation that drops finished rows. Every row of the KV cache
// shares the cache's positions; a request placed into a row mid-run has its prompt prefilled on
// the side (left-padded, like the first batch) and copied to the positions just before the next
// one, so the next decode step feeds every live row's newest token at the same position. Rows'
// rotary positions come from their own token counts, not from cache positions.
//
// The cache holds capacity positions; when the next step would not fit, every row is shifted left
// by the first position any live row still needs. A live row spans at most its prompt + its
// max_new_tokens - 1 positions (M - 1 at most), so a capacity of M + M/4 (at least M + 16) leaves
// room for M/4 steps after each shift. Attention reads every position up to the newest, so the
// capacity is kept close to M: a shift copies the cache once per M/4 steps, a wider cache would
// cost attention work at every step.
class Engine {
 public:
  Engine(CausalLmImpl& model, const std::vector<GenerationRequest>& requests,
         std::vector<size_t> queue, int64_t slots, const GenerateOptions& options,
         std::vector<GenerationResult>& results)
      : model_(model),
        requests_(requests),
        results_(results),
        options_(options),
        device_(model.options().device()),
        host_sampler_(device_.is_cpu() && !options.device_sampler),
        queue_(queue.begin(), queue.end()),
        slots_(std::min<int64_t>(slots, static_cast<int64_t>(queue_.size()))) {}

  void Run() {
    std::vector<size_t> first(queue_.begin(), queue_.begin() + slots_);
    queue_.erase(queue_.begin(), queue_.begin() + slots_);
    int64_t longest = 0, prompts = 0, news = 0;
    for (size_t i : first) {
      prompts = std::max<int64_t>(prompts, requests_[i].prompt_ids.size());
      news = std::max<int64_t>(news, requests_[i].max_new_tokens);
      longest = std::max(longest, Span(i));
    }
    for (size_t i : queue_) longest = std::max(longest, Span(i));
    const int64_t capacity = queue_.empty()
                                 ? prompts + news
                                 : std::max(prompts + news, longest + std::max<int64_t>(16, longest / 4));
    cache_.emplace(model_.NewCache(slots_, capacity));
    at::Tensor logits = Prefill(first, *cache_);  // [slots, V]
    slot_request_.assign(first.begin(), first.end());
    first_position_.resize(first.size());
    for (size_t k = 0; k < first.size(); ++k) {
      first_position_[k] = prompts - static_cast<int64_t>(requests_[first[k]].prompt_ids.size());
    }
    std::vector<int64_t> rows(first.size());
    std::iota(rows.begin(), rows.end(), 0);
    while (true) {
      SampleRows(logits, rows);
      Refill();
      rows = LiveRows();
      if (rows.empty()) break;
      // All at once (max_batch 0): finished rows are dropped at once, as they always were (the
      // default run's numbers come from this). Continuous: rows are refilled while requests
      // wait; after that, dropped when at most half are live (at most log2(rows) copies).
      const int64_t live = static_cast<int64_t>(rows.size());
      if (queue_.empty() && live < slots_ && (options_.max_batch == 0 || live * 2 <= slots_)) {
        Compact(rows);
        std::iota(rows.begin(), rows.end(), 0);
      }
      MakeRoomForOneStep(rows);
      logits = DecodeStep();
      if (static_cast<int64_t>(rows.size()) < slots_) {
        logits = logits.index_select(0, torch::tensor(rows, torch::kInt64).to(device_));
      }
    }
  }

 private:
  static constexpr size_t kFree = static_cast<size_t>(-1);

  // Positions a request occupies at most while it is live.
  int64_t Span(size_t i) const {
    return static_cast<int64_t>(requests_[i].prompt_ids.size()) + requests_[i].max_new_tokens;
  }

  // Left-padded prefill of requests `indices` into `cache` (its length must be 0): the logits of
  // each one's last prompt position, [n, V].
  at::Tensor Prefill(const std::vector<size_t>& indices, KvCache& cache) {
    const int64_t b = static_cast<int64_t>(indices.size());
    int64_t p = 0;
    for (size_t i : indices) p = std::max<int64_t>(p, requests_[i].prompt_ids.size());
    // Filled on the CPU, then one copy each to the device.
    auto ids = torch::zeros({b, p}, torch::kInt64);
    auto mask = torch::zeros({b, p}, torch::kInt64);
    auto ids_a = ids.accessor<int64_t, 2>();
    auto mask_a = mask.accessor<int64_t, 2>();
    for (int64_t k = 0; k < b; ++k) {
      const auto& prompt = requests_[indices[k]].prompt_ids;
      const int64_t pad = p - static_cast<int64_t>(prompt.size());
      for (size_t j = 0; j < prompt.size(); ++j) {
        ids_a[k][pad + j] = prompt[j];
        mask_a[k][pad + j] = 1;
      }
    }
    ids = ids.to(device_);
    mask = mask.to(device_);
    return model_.Forward(ids, mask, PositionIdsFromMask(mask), &cache).select(1, p - 1);
  }

  // Samples the next token of the requests in cache rows `rows` from logits [rows.size(), V] and
  // frees the rows whose request finished.
  void SampleRows(const at::Tensor& logits, const std::vector<int64_t>& rows) {
    std::vector<size_t> active;
    for (int64_t r : rows) active.push_back(slot_request_[r]);
    std::vector<int32_t> tokens(active.size());
    std::vector<float> logprobs(active.size());
    if (host_sampler_) {
      SampleOnHost(logits, requests_, active, results_, tokens, logprobs);
    } else {
      std::vector<SamplingParams> params;
      for (size_t i : active) params.push_back(requests_[i].sampling);
      SampleWithTensors(logits, MakeSamplingTensors(params, device_), requests_, active, results_,
                        tokens, logprobs);
    }
    for (size_t k = 0; k < active.size(); ++k) {
      const GenerationRequest& req = requests_[active[k]];
      GenerationResult& res = results_[active[k]];
      res.token_ids.push_back(tokens[k]);
      res.logprobs.push_back(logprobs[k]);
      const bool stop = std::find(req.stop_token_ids.begin(), req.stop_token_ids.end(),
                                  tokens[k]) != req.stop_token_ids.end();
      if (!stop && static_cast<int32_t>(res.token_ids.size()) < req.max_new_tokens) continue;
      res.finish_reason = stop ? FinishReason::kStop : FinishReason::kLength;
      slot_request_[rows[k]] = kFree;
      if (options_.on_finished) options_.on_finished(active[k], res);
    }
  }

  // Fills free rows with waiting requests, sampling each one's first token (a request that
  // finishes at once frees its row again).
  void Refill() {
    while (!queue_.empty()) {
      std::vector<int64_t> free;
      for (int64_t r = 0; r < slots_; ++r) {
        if (slot_request_[r] == kFree) free.push_back(r);
      }
      if (free.empty()) return;
      free.resize(std::min(free.size(), queue_.size()));
      std::vector<size_t> next(queue_.begin(), queue_.begin() + free.size());
      queue_.erase(queue_.begin(), queue_.begin() + free.size());
      int64_t p = 0;
      for (size_t i : next) p = std::max<int64_t>(p, requests_[i].prompt_ids.size());
      KvCache side = model_.NewCache(static_cast<int64_t>(next.size()), p);
      const at::Tensor logits = Prefill(next, side);
      if (cache_->length() < p) Shift(p - cache_->length());
      for (size_t k = 0; k < next.size(); ++k) {
        cache_->PlaceRow(free[k], side, static_cast<int64_t>(k));
        slot_request_[free[k]] = next[k];
        first_position_[free[k]] =
            cache_->length() - static_cast<int64_t>(requests_[next[k]].prompt_ids.size());
      }
      SampleRows(logits, free);
    }
  }

  std::vector<int64_t> LiveRows() const {
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < slots_; ++r) {
      if (slot_request_[r] != kFree) rows.push_back(r);
    }
    return rows;
  }

  // Keeps only `rows` (nothing waits any more): one copy of the cache, at most log2(slots) times.
  void Compact(const std::vector<int64_t>& rows) {
    cache_->SelectRows(torch::tensor(rows, torch::kInt64));
    std::vector<size_t> request;
    std::vector<int64_t> first;
    for (int64_t r : rows) {
      request.push_back(slot_request_[r]);
      first.push_back(first_position_[r]);
    }
    slot_request_ = std::move(request);
    first_position_ = std::move(first);
    slots_ = static_cast<int64_t>(rows.size());
  }

  void Shift(int64_t delta) {
    cache_->ShiftPositions(delta);
    for (int64_t& f : first_position_) f += delta;
  }

  // Frees positions at the front when the next step would not fit.
  void MakeRoomForOneStep(const std::vector<int64_t>& rows) {
    if (cache_->length() < cache_->capacity()) return;
    int64_t first = cache_->length();
    for (int64_t r : rows) first = std::min(first, first_position_[r]);
    Shift(-first);
  }

  // Feeds every live row's newest token; free rows get a masked dummy. Logits [slots, V].
  at::Tensor DecodeStep() {
    std::vector<int64_t> step(3 * slots_, 0);  // ids, positions, mask
    for (int64_t r = 0; r < slots_; ++r) {
      if (slot_request_[r] == kFree) continue;
      const GenerationRequest& req = requests_[slot_request_[r]];
      const GenerationResult& res = results_[slot_request_[r]];
      step[r] = res.token_ids.back();
      step[slots_ + r] = static_cast<int64_t>(req.prompt_ids.size() + res.token_ids.size()) - 1;
      step[2 * slots_ + r] = 1;
    }
    const at::Tensor t = torch::tensor(step, torch::kInt64).view({3, slots_}).to(device_);
    return model_
        .Forward(t.select(0, 0).unsqueeze(1), t.select(0, 2).unsqueeze(1),
                 t.select(0, 1).unsqueeze(1), &*cache_)
        .select(1, 0);
  }

  CausalLmImpl& model_;
  const std::vector<GenerationRequest>& requests_;
  std::vector<GenerationResult>& results_;
  const GenerateOptions& options_;
  const at::Device device_;
  const bool host_sampler_;
  std::deque<size_t> queue_;             // requests waiting for a row, in order
  int64_t slots_;                        // rows of the cache
  std::optional<KvCache> cache_;
  std::vector<size_t> slot_request_;     // row -> request index, kFree when free
  std::vector<int64_t> first_position_;  // row -> first cache position its request uses
};

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
  if (options.max_batch < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_batch ", options.max_batch, " < 0"));
  }
  std::vector<size_t> todo;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].max_new_tokens > 0) {
      todo.push_back(i);
    } else if (options.on_finished) {
      options.on_finished(i, results[i]);
    }
  }
  if (todo.empty()) return results;
  R1_RETURN_IF_ERROR(CatchExceptions("generation", [&]() -> absl::Status {
    at::NoGradGuard no_grad;
    if (options.per_request) {
      for (size_t i : todo) Engine(model, requests, {i}, 1, options, results).Run();
    } else {
      const int64_t slots = options.max_batch > 0 ? options.max_batch
                                                  : static_cast<int64_t>(todo.size());
      Engine(model, requests, todo, slots, options, results).Run();
    }
    return absl::OkStatus();
  }));
  return results;
}

}  // namespace r1
