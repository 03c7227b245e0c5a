// Scope rule for reward models.
#include "stages/rewards/reward_model.h"

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace r1 {

absl::string_view ScopedResponse(RewardModelScope scope, absl::string_view response) {
  if (scope == RewardModelScope::kFinalAnswer) {
    constexpr absl::string_view kClose = "</think>";
    size_t close = response.rfind(kClose);
    if (close != absl::string_view::npos) response = response.substr(close + kClose.size());
  }
  return absl::StripAsciiWhitespace(response);
}

}  // namespace r1
