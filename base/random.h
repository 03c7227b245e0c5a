// splitmix64 (Steele, Lea, Flood 2014): r1's one seed mixer and small RNG. Tiny, fast and
// identical on every platform, so every seed-derived value (synthetic data, shuffles, request
// seeds, sampling draws) is reproducible anywhere.
#ifndef R1_BASE_RANDOM_H_
#define R1_BASE_RANDOM_H_

#include <cstdint>

namespace r1 {

// A stream of 64-bit values: state += kGamma, then Mix(state). Not thread-safe; one per thread.
class SplitMix64 {
 public:
  // The increment added to the state before each output (2^64 / golden ratio, odd).
  static constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ULL;

  // splitmix64's output function: a bijective scramble of `z`.
  static constexpr uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // The first output of a stream seeded with `x`: a one-shot hash, SplitMix64(x).Next().
  static constexpr uint64_t Hash(uint64_t x) { return Mix(x + kGamma); }

  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() { return Mix(state_ += kGamma); }
  // Uniform in [0, n) without modulo bias; n must be > 0 (returns 0 for n == 0).
  uint64_t Below(uint64_t n) {
    if (n == 0) return 0;
    // Reject the top partial block so every residue is equally likely.
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
      x = Next();
    } while (x >= limit);
    return x % n;
  }
  // Uniform in [lo, hi]; lo <= hi (returns lo otherwise).
  int64_t Between(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span == 0) return static_cast<int64_t>(Next());  // the full 64-bit range
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + Below(span));
  }
  // true with probability percent/100.
  bool Percent(int32_t percent) { return Below(100) < static_cast<uint64_t>(percent); }

 private:
  uint64_t state_;
};

}  // namespace r1

#endif  // R1_BASE_RANDOM_H_
