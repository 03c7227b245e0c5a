// The format reward.
#include "stages/rewards/format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "stages/rewards/reward_params.h"

namespace r1 {
namespace {

constexpr absl::string_view kThinkOpen = "<think>";
constexpr absl::string_view kThinkClose = "</think>";
constexpr absl::string_view kAnswerOpen = "<answer>";
constexpr absl::string_view kAnswerClose = "</answer>";

class FormatReward : public RuleReward {
 public:
  explicit FormatReward(FormatOptions options) : options_(options) {}
  absl::StatusOr<RewardValue> Compute(const RewardInput& input) const override {
    return RewardValue{FormatScore(input.response, options_), ""};
  }

 private:
  FormatOptions options_;
};

}  // namespace

bool MatchesThinkAnswerFormat(absl::string_view response) {
  absl::string_view t = absl::StripAsciiWhitespace(response);
  if (!absl::StartsWith(t, kThinkOpen) || !absl::EndsWith(t, kAnswerClose)) return false;
  // The final "</answer>" starts here; "<answer>" must end at or before it.
  const size_t answer_close = t.size() - kAnswerClose.size();
  if (answer_close < kThinkOpen.size()) return false;
  // Some "</think>" after the opening tag, then whitespace, then "<answer>".
  for (size_t pos = t.find(kThinkClose, kThinkOpen.size()); pos != absl::string_view::npos;
       pos = t.find(kThinkClose, pos + 1)) {
    size_t a = pos + kThinkClose.size();
    while (a < t.size() && absl::ascii_isspace(static_cast<unsigned char>(t[a]))) ++a;
    if (t.compare(a, kAnswerOpen.size(), kAnswerOpen) == 0 &&
        a + kAnswerOpen.size() <= answer_close) {
      return true;
    }
  }
  return false;
}

bool HasThinkBlock(absl::string_view response) {
  absl::string_view t = absl::StripAsciiWhitespace(response);
  return absl::StartsWith(t, kThinkOpen) &&
         t.find(kThinkClose, kThinkOpen.size()) != absl::string_view::npos;
}

double FormatScore(absl::string_view response, const FormatOptions& options) {
  if (MatchesThinkAnswerFormat(response)) return options.full;
  if (HasThinkBlock(response)) return options.think_only;
  return options.none;
}

absl::StatusOr<std::unique_ptr<RuleReward>> MakeFormatReward(const nlohmann::json& params) {
  R1_ASSIGN_OR_RETURN(RewardParams p,
                      RewardParams::Parse("format", params, {"full", "think_only", "none"}));
  FormatOptions options;
  R1_ASSIGN_OR_RETURN(options.full, p.Double("full", options.full));
  R1_ASSIGN_OR_RETURN(options.think_only, p.Double("think_only", options.think_only));
  R1_ASSIGN_OR_RETURN(options.none, p.Double("none", options.none));
  return std::make_unique<FormatReward>(options);
}

}  // namespace r1
