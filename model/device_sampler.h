// Token sampling as tensor operations on the logits' device: the semantics of model/sampler.h
// (SampleToken) for a batch of rows, each with its own temperature, top-k, top-p and uniform
// number, so that generation on an accelerator copies only the sampled ids and their log-probs to
// the host. On the CPU it picks the same tokens as SampleToken (same float rounding of the
// probabilities, same tie order, same sequential sums); on other devices reductions may round
// differently, which can move a pick only when u lands within rounding of a CDF boundary.
//
// Shapes: B = rows, V = vocab_size.
#ifndef R1_MODEL_DEVICE_SAMPLER_H_
#define R1_MODEL_DEVICE_SAMPLER_H_

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <vector>

#include "model/sampler.h"

namespace r1 {

// The per-row sampling parameters of SampleTokensOnDevice, on one device.
struct SamplingTensors {
  at::Tensor temperatures;  // [B] f32; <= 0 = greedy
  at::Tensor top_k;         // [B] i64; <= 0 = no limit
  at::Tensor top_p;         // [B] f32; >= 1 = no limit
  // Host-side hints that let the sampler skip work (no device sync): must be true when some row
  // samples (temperature > 0) / samples with top-k or top-p; true when none does is only slower.
  bool any_sampled = true;
  bool any_filtered = true;

  // Rows `rows` (i64 [B'], any device) of every tensor; the hints are kept (still valid).
  SamplingTensors SelectRows(const at::Tensor& rows) const;
};

// params[i] as row i, on `device`.
SamplingTensors MakeSamplingTensors(const std::vector<SamplingParams>& params,
                                    const at::Device& device);

struct SampledTokens {
  at::Tensor ids;       // [B] i64
  at::Tensor logprobs;  // [B] f32: log-prob of the id under softmax(logits / T) before top-k/p
                        // (T = 1 for greedy rows), as GenerationResult::logprobs
};

// One token per row of `logits` [B, V] (floating, any device) under row i's parameters, with
// uniforms [B] f64 in [0, 1) (UniformForStep; ignored by greedy rows). Every tensor must be on the
// logits' device (a mismatch throws c10::Error); results are on that device too.
// Greedy: argmax, lowest id on ties. Otherwise probabilities p = softmax(logits / T) computed in
// f64 and rounded to f32; top-k keeps the k most probable (ties: lower id first); top-p keeps the
// shortest prefix of those in descending order whose sum reaches top_p * their total (at least
// one) and renormalises; the pick is where the cumulative sum (in id order when unfiltered,
// descending order when filtered) first exceeds u * total.
SampledTokens SampleTokensOnDevice(const at::Tensor& logits, const SamplingTensors& params,
                                   const at::Tensor& uniforms);

}  // namespace r1

#endif  // R1_MODEL_DEVICE_SAMPLER_H_
