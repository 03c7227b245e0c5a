// DAPO's soft overlong penalty: 0 up to L_max - L_cache, then falling linearly to -1 at L_max, and
// -1 beyond. Add it to the reward mix with a positive weight.
#ifndef R1_STAGES_REWARDS_OVERLONG_H_
#define R1_STAGES_REWARDS_OVERLONG_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stages/rewards/reward.h"

namespace r1 {

enum class LengthUnit {
  kTokens,  // RewardInput::response_length_tokens (required)
  kChars,   // Unicode code points of the response (UTF-8 continuation bytes not counted)
};

struct OverlongOptions {
  int64_t max_length = 0;    // L_max, > 0
  int64_t cache_length = 0;  // L_cache, the soft buffer: 0 < L_cache <= L_max
  LengthUnit unit = LengthUnit::kTokens;
};

// With L = length: 0 if L <= L_max - L_cache; (L_max - L_cache - L) / L_cache if L <= L_max (in
// [-1, 0)); -1 if L > L_max. Requires the option bounds above (checked by the factory).
double OverlongPenalty(int64_t length, int64_t max_length, int64_t cache_length);

// Code points in UTF-8 `text` (bytes that are not continuation bytes).
int64_t CountCodePoints(absl::string_view text);

// Registry factory. Params: {"max_length": int, "cache_length": int, "unit": "tokens"|"chars"};
// both lengths required. Compute fails (InvalidArgument) in token mode without a token length.
absl::StatusOr<std::unique_ptr<RuleReward>> MakeOverlongReward(const nlohmann::json& params);

}  // namespace r1

#endif  // R1_STAGES_REWARDS_OVERLONG_H_
