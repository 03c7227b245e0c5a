// Batched sampling with tensor operations (see device_sampler.h). Mirrors sampler.cc step by step:
// the comments name the host function each part reproduces.
#include "model/device_sampler.h"

#include <algorithm>
#include <tuple>

namespace r1 {

SamplingTensors MakeSamplingTensors(const std::vector<SamplingParams>& params,
                                    const at::Device& device) {
  const int64_t b = static_cast<int64_t>(params.size());
  at::Tensor temperatures = at::empty({b}, at::kFloat);
  at::Tensor top_k = at::empty({b}, at::kLong);
  at::Tensor top_p = at::empty({b}, at::kFloat);
  float* t = temperatures.data_ptr<float>();
  int64_t* k = top_k.data_ptr<int64_t>();
  float* p = top_p.data_ptr<float>();
  SamplingTensors out;
  out.any_sampled = false;
  out.any_filtered = false;
  for (int64_t i = 0; i < b; ++i) {
    t[i] = params[i].temperature;
    k[i] = params[i].top_k;
    p[i] = params[i].top_p;
    const bool sampled = params[i].temperature > 0.0f;
    out.any_sampled = out.any_sampled || sampled;
    out.any_filtered =
        out.any_filtered || (sampled && (params[i].top_k > 0 || params[i].top_p < 1.0f));
  }
  out.temperatures = temperatures.to(device);
  out.top_k = top_k.to(device);
  out.top_p = top_p.to(device);
  return out;
}

SamplingTensors SamplingTensors::SelectRows(const at::Tensor& rows) const {
  SamplingTensors out = *this;
  const at::Tensor index = rows.to(temperatures.device(), at::kLong);
  out.temperatures = temperatures.index_select(0, index);
  out.top_k = top_k.index_select(0, index);
  out.top_p = top_p.index_select(0, index);
  return out;
}

SampledTokens SampleTokensOnDevice(const at::Tensor& logits, const SamplingTensors& params,
                                   const at::Tensor& uniforms) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) > 0, "SampleTokensOnDevice: logits must be ",
              "[B, V] with V > 0, got ", logits.sizes());
  const int64_t b = logits.size(0), v = logits.size(1);
  for (const at::Tensor* t : {&params.temperatures, &params.top_k, &params.top_p, &uniforms}) {
    TORCH_CHECK(t->dim() == 1 && t->size(0) == b, "SampleTokensOnDevice: per-row tensors must ",
                "be [", b, "], got ", t->sizes());
  }
  at::NoGradGuard no_grad;
  const auto i64 = at::TensorOptions().dtype(at::kLong).device(logits.device());
  const at::Tensor temperature = params.temperatures.to(at::kFloat);
  const at::Tensor greedy = temperature <= 0;  // [B]

  // Log-probs under logits / T (T = 1 for greedy) in at least f32, as Generate's host path:
  // logit * (1 / T) - logsumexp(logits * (1 / T)), with 1 / T rounded to f32.
  const at::Tensor lp_logits = logits.to(at::promote_types(logits.scalar_type(), at::kFloat));
  const at::Tensor inv_t = at::where(greedy, at::ones_like(temperature), temperature.reciprocal())
                               .to(lp_logits.scalar_type());
  const at::Tensor scaled = lp_logits * inv_t.unsqueeze(1);
  const at::Tensor lse = scaled.logsumexp(-1);

  at::Tensor ids = logits.argmax(-1);  // greedy: the first maximum, i.e. the lowest id on ties
  if (params.any_sampled) {
    // SoftmaxCandidates: exp(l / T - max) / total in f64 (the total summed in id order), then f32.
    const at::Tensor t64 =
        at::where(greedy, at::ones_like(temperature), temperature).to(at::kDouble).unsqueeze(1);
    const at::Tensor x = logits.to(at::kDouble) / t64;
    const at::Tensor e = (x - std::get<0>(x.max(-1, /*keepdim=*/true))).exp();
    const at::Tensor p = (e / e.cumsum(-1).narrow(-1, v - 1, 1)).to(at::kFloat);  // [B, V]

    at::Tensor walk_w = p.to(at::kDouble);  // weights in walk order (id order when unfiltered)
    at::Tensor walk_id;                     // id at each walk position; undefined = identity
    at::Tensor last = at::full({b}, v - 1, i64);  // walk position of the last candidate
    if (params.any_filtered) {
      // TopKFilter / TopPFilter: descending p, ties lower id first (a stable sort).
      at::Tensor sorted_p, order;
      std::tie(sorted_p, order) = at::sort(p, /*stable=*/true, /*dim=*/-1, /*descending=*/true);
      const at::Tensor rank = at::arange(v, i64).unsqueeze(0);  // [1, V]
      const at::Tensor k = params.top_k.to(at::kLong).unsqueeze(1);
      const at::Tensor keep_k = (k <= 0) | (rank < k);
      const at::Tensor w = sorted_p.to(at::kDouble).masked_fill(keep_k.logical_not(), 0.0);
      // Keep position j iff j == 0 or the sum before it is < top_p * total (sequential sums).
      const at::Tensor cum = w.cumsum(-1);
      const at::Tensor top_p = params.top_p.to(at::kFloat).unsqueeze(1);
      const at::Tensor threshold = top_p.to(at::kDouble) * cum.narrow(-1, v - 1, 1);
      const at::Tensor before =
          at::cat({at::full({b, 1}, -1.0, w.options()), cum.narrow(-1, 0, v - 1)}, -1);
      const at::Tensor no_p = top_p >= 1.0f;                                // [B, 1]
      const at::Tensor kept = keep_k & (no_p | (before < threshold));       // a prefix per row
      const at::Tensor n_kept = kept.sum(-1, /*keepdim=*/true, at::kLong);  // [B, 1] >= 1
      // Renormalised by the sum of the kept ones, rounded to f32.
      const at::Tensor renorm = (w / cum.gather(1, n_kept - 1)).to(at::kFloat).to(at::kDouble);
      const at::Tensor filtered_w = at::where(no_p, w, renorm).masked_fill(kept.logical_not(), 0.0);
      const at::Tensor filtered =
          ((params.top_k.to(at::kLong) > 0) | (params.top_p.to(at::kFloat) < 1.0f))
              .unsqueeze(1);  // [B, 1]
      walk_w = at::where(filtered, filtered_w, walk_w);
      walk_id = at::where(filtered, order, at::arange(v, i64).unsqueeze(0).expand({b, v}));
      last = at::where(filtered.squeeze(1), n_kept.squeeze(1) - 1, last);
    }
    // SampleFromCandidates: the first walk position whose cumulative weight exceeds u * total,
    // else the last candidate.
    const at::Tensor cum = walk_w.cumsum(-1);
    const at::Tensor target = (uniforms.to(at::kDouble) * cum.select(-1, v - 1)).unsqueeze(1);
    const at::Tensor pos = at::minimum((cum <= target).sum(-1, false, at::kLong), last);
    const at::Tensor sampled =
        walk_id.defined() ? walk_id.gather(1, pos.unsqueeze(1)).squeeze(1) : pos;
    ids = at::where(greedy, ids, sampled);
  }
  SampledTokens out;
  out.ids = ids;
  out.logprobs = (scaled.gather(1, ids.unsqueeze(1)).squeeze(1) - lse).to(at::kFloat);
  return out;
}

}  // namespace r1
