// Token sampling as pure functions: temperature, top-k, top-p filters and inverse-CDF sampling
// with the random number passed in, plus a counter-based RNG so that each request draws its own
// randomness from (seed, step) and never from a stream shared with other requests.
// No LibTorch here: logits arrive as a span of floats.
#ifndef R1_MODEL_SAMPLER_H_
#define R1_MODEL_SAMPLER_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace r1 {

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy (argmax, lowest id on ties); must be >= 0
  int32_t top_k = 0;         // keep the k most likely tokens; 0 = no limit
  float top_p = 1.0f;        // keep the smallest set whose probability reaches top_p; 1 = all
  uint64_t seed = 0;         // with the step number, the only source of randomness
};

// A candidate token and its probability (after the filters applied so far).
struct TokenProb {
  int32_t id;
  float p;
};

// Softmax of logits / temperature (temperature > 0) as candidates in id order.
std::vector<TokenProb> SoftmaxCandidates(absl::Span<const float> logits, float temperature);

// Keeps the k most probable candidates (ties: lower id first), sorted by descending p, not
// renormalised. k <= 0 or k >= size keeps all (still sorted).
void TopKFilter(std::vector<TokenProb>& candidates, int32_t k);

// Sorts by descending p (ties: lower id first) and keeps the shortest prefix whose probabilities
// sum to >= p * total (at least one), then renormalises to sum 1. p >= 1 keeps all.
// E.g. {0.1, 0.2, 0.3, 0.4}, p = 0.7 -> {0.571429, 0.428571} (ids 3, 2).
void TopPFilter(std::vector<TokenProb>& candidates, float p);

// The candidate where the cumulative probability first exceeds u * total, u in [0, 1).
int32_t SampleFromCandidates(const std::vector<TokenProb>& candidates, double u);

// One token from `logits` [V] under `params`, using the uniform number `u` in [0, 1) (ignored
// when temperature == 0).
int32_t SampleToken(absl::Span<const float> logits, const SamplingParams& params, double u);

// Counter-based RNG: a uniform double in [0, 1) that depends only on (seed, step) (SplitMix64
// finaliser over both). Pure; the same inputs always give the same number.
double UniformForStep(uint64_t seed, uint64_t step);

}  // namespace r1

#endif  // R1_MODEL_SAMPLER_H_
