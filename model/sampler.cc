// Sampling filters and the counter-based RNG (see sampler.h).
#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/random.h"

namespace r1 {
namespace {

// Descending p, ties by ascending id. A function object, so that sorts inline it.
struct MoreLikely {
  bool operator()(const TokenProb& a, const TokenProb& b) const {
    return a.p > b.p || (a.p == b.p && a.id < b.id);
  }
};

// Sorts `keys` ascending: least-significant-digit radix sort, 8-bit digits, skipping the digits
// every key shares (the high bits of probabilities and ids mostly are).
void RadixSort(std::vector<uint64_t>& keys) {
  if (keys.size() < 64) {
    std::sort(keys.begin(), keys.end());
    return;
  }
  std::vector<uint32_t> count(8 * 256, 0);
  for (uint64_t k : keys) {
    for (int d = 0; d < 8; ++d) ++count[d * 256 + ((k >> (8 * d)) & 0xff)];
  }
  std::vector<uint64_t> buffer(keys.size());
  for (int d = 0; d < 8; ++d) {
    uint32_t* c = &count[d * 256];
    if (c[(keys[0] >> (8 * d)) & 0xff] == keys.size()) continue;  // one value: already in order
    uint32_t offset = 0;
    for (int b = 0; b < 256; ++b) {
      const uint32_t n = c[b];
      c[b] = offset;
      offset += n;
    }
    for (uint64_t k : keys) buffer[c[(k >> (8 * d)) & 0xff]++] = k;
    keys.swap(buffer);
  }
}

// Sorts `candidates` by MoreLikely (a total order, so the result is unique). Sampling sorts the
// whole vocabulary for every row at every step: instead of comparing pairs, it sorts one 64-bit
// key per candidate whose unsigned order is MoreLikely's: the bits of p (>= 0, so their unsigned
// order is p's order), inverted for descending, above the id.
void SortMoreLikelyFirst(std::vector<TokenProb>& candidates) {
  std::vector<uint64_t> keys(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, &candidates[i].p, sizeof(bits));
    // Anything but a non-negative probability with a valid id (NaN, -0, < 0): compare pairs.
    if (!(candidates[i].p >= 0.0f) || std::signbit(candidates[i].p) || candidates[i].id < 0) {
      std::sort(candidates.begin(), candidates.end(), MoreLikely());
      return;
    }
    keys[i] = (static_cast<uint64_t>(~bits) << 32) | static_cast<uint32_t>(candidates[i].id);
  }
  RadixSort(keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint32_t bits = ~static_cast<uint32_t>(keys[i] >> 32);
    candidates[i].id = static_cast<int32_t>(keys[i] & 0xffffffffu);
    std::memcpy(&candidates[i].p, &bits, sizeof(bits));
  }
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
    std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(), MoreLikely());
    candidates.resize(k);
  } else {
    SortMoreLikelyFirst(candidates);
  }
}

void TopPFilter(std::vector<TokenProb>& candidates, float p) {
  SortMoreLikelyFirst(candidates);
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
