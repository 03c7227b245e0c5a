// The format reward: does the response read "<think>...</think> <answer>...</answer>" and nothing
// else (R1-RECIPE.md: ^<think>.*?</think>\s*<answer>.*?</answer>$, dot matching newlines)?
#ifndef R1_STAGES_REWARDS_FORMAT_H_
#define R1_STAGES_REWARDS_FORMAT_H_

#include <memory>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stages/rewards/reward.h"

namespace r1 {

struct FormatOptions {
  double full = 1.0;        // the whole response matches the format
  double think_only = 0.0;  // starts with a closed <think>...</think> block but fails the rest
  double none = 0.0;        // anything else
};

// The regex above, on the response with surrounding whitespace trimmed. Linear-ish scan, no
// std::regex (whose recursion overflows the stack on long responses).
bool MatchesThinkAnswerFormat(absl::string_view response);

// True when the trimmed response starts with "<think>" and has a later "</think>".
bool HasThinkBlock(absl::string_view response);

// options.full, options.think_only or options.none.
double FormatScore(absl::string_view response, const FormatOptions& options);

// Registry factory. Params: {"full": number, "think_only": number, "none": number}.
absl::StatusOr<std::unique_ptr<RuleReward>> MakeFormatReward(const nlohmann::json& params);

}  // namespace r1

#endif  // R1_STAGES_REWARDS_FORMAT_H_
