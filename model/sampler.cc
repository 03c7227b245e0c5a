// Sampling filters and the counter-based RNG (see sampler.h).
#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/random.h"

namespace r1 {
namespace {

bool MoreLikely(const TokenProb& a, const TokenProb& b) {
  return a.p > b.p || (a.p == b.p && a.id < b.id);
}

}  // namespace

std::vector<TokenProb> SoftmaxCandidates(absl::Span<const float> logits, float temperature) {
  std::vector<TokenProb> out(logits.size());
  double max_scaled = -std::numeric_limits<double>::infinity();
  for (float l : logits) max_scaled = std::max(max_scaled, double(l) / temperature);
  double total = 0;
  std::vector<double> e(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    e[i] = std::exp(double(logits[i]) / temperature - max_scaled);
    total += e[i];
  }
  for (size_t i = 0; i < logits.size(); ++i) {
    out[i] = {static_cast<int32_t>(i), static_cast<float>(e[i] / total)};
  }
  return out;
}

void TopKFilter(std::vector<TokenProb>& candidates, int32_t k) {
  if (k > 0 && static_cast<size_t>(k) < candidates.size()) {
    std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(), MoreLikely);
    candidates.resize(k);
  } else {
    std::sort(candidates.begin(), candidates.end(), MoreLikely);
  }
}

void TopPFilter(std::vector<TokenProb>& candidates, float p) {
  std::sort(candidates.begin(), candidates.end(), MoreLikely);
  if (p >= 1.0f || candidates.empty()) return;
  double total = 0;
  for (const auto& c : candidates) total += c.p;
  double cum = 0;
  size_t keep = 0;
  while (keep < candidates.size()) {
    cum += candidates[keep].p;
    ++keep;
    if (cum >= double(p) * total) break;
  }
  candidates.resize(keep);
  for (auto& c : candidates) c.p = static_cast<float>(c.p / cum);
}

int32_t SampleFromCandidates(const std::vector<TokenProb>& candidates, double u) {
  double total = 0;
  for (const auto& c : candidates) total += c.p;
  const double target = u * total;
  double cum = 0;
  for (const auto& c : candidates) {
    cum += c.p;
    if (cum > target) return c.id;
  }
  return candidates.back().id;  // u * total rounded up to the total
}

int32_t SampleToken(absl::Span<const float> logits, const SamplingParams& params, double u) {
  if (params.temperature <= 0.0f) {
    size_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i) {
      if (logits[i] > logits[best]) best = i;
    }
    return static_cast<int32_t>(best);
  }
  std::vector<TokenProb> candidates = SoftmaxCandidates(logits, params.temperature);
  // Unfiltered sampling walks the candidates in id order (no sort of the whole vocabulary).
  if (params.top_k > 0) TopKFilter(candidates, params.top_k);
  if (params.top_p < 1.0f) TopPFilter(candidates, params.top_p);
  return SampleFromCandidates(candidates, u);
}

double UniformForStep(uint64_t seed, uint64_t step) {
  const uint64_t bits =
      SplitMix64::Hash(SplitMix64::Hash(seed) ^ SplitMix64::Hash(step + 0x632BE59BD9B4E019ull));
  return double(bits >> 11) * (1.0 / 9007199254740992.0);  // 53 random bits / 2^53
}

}  // namespace r1
