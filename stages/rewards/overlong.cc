// DAPO's soft overlong penalty.
#include "stages/rewards/overlong.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "stages/rewards/reward_params.h"

namespace r1 {
namespace {

class OverlongReward : public RuleReward {
 public:
  explicit OverlongReward(OverlongOptions options) : options_(options) {}
  absl::StatusOr<RewardValue> Compute(const RewardInput& input) const override {
    int64_t length = 0;
    if (options_.unit == LengthUnit::kTokens) {
      if (!input.response_length_tokens.has_value()) {
        return absl::InvalidArgumentError(
            "unit is \"tokens\" but the input has no response length in tokens (give "
            "response_length_tokens, or set unit to \"chars\")");
      }
      length = *input.response_length_tokens;
    } else {
      length = CountCodePoints(input.response);
    }
    return RewardValue{OverlongPenalty(length, options_.max_length, options_.cache_length), ""};
  }

 private:
  OverlongOptions options_;
};

}  // namespace

double OverlongPenalty(int64_t length, int64_t max_length, int64_t cache_length) {
  const int64_t soft_limit = max_length - cache_length;
  if (length <= soft_limit) return 0.0;
  if (length > max_length) return -1.0;
  return static_cast<double>(soft_limit - length) / static_cast<double>(cache_length);
}

int64_t CountCodePoints(absl::string_view text) {
  int64_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

absl::StatusOr<std::unique_ptr<RuleReward>> MakeOverlongReward(const nlohmann::json& params) {
  R1_ASSIGN_OR_RETURN(RewardParams p, RewardParams::Parse("overlong", params,
                                                          {"max_length", "cache_length", "unit"}));
  if (!p.Has("max_length") || !p.Has("cache_length")) {
    return absl::InvalidArgumentError(
        "overlong: params \"max_length\" and \"cache_length\" are required");
  }
  OverlongOptions options;
  R1_ASSIGN_OR_RETURN(options.max_length, p.Int("max_length", 0));
  R1_ASSIGN_OR_RETURN(options.cache_length, p.Int("cache_length", 0));
  if (options.max_length <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("overlong: param \"max_length\" must be > 0, got ", options.max_length));
  }
  if (options.cache_length <= 0 || options.cache_length > options.max_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "overlong: param \"cache_length\" must be in (0, max_length = ", options.max_length,
        "], got ", options.cache_length));
  }
  R1_ASSIGN_OR_RETURN(std::string unit, p.String("unit", "tokens"));
  if (unit == "tokens") {
    options.unit = LengthUnit::kTokens;
  } else if (unit == "chars") {
    options.unit = LengthUnit::kChars;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "overlong: param \"unit\" must be \"tokens\" or \"chars\", got \"", unit, "\""));
  }
  return std::make_unique<OverlongReward>(options);
}

}  // namespace r1
