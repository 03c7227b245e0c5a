// The registry of built-in rule rewards (declared in reward.h).
#include "stages/rewards/accuracy.h"
#include "stages/rewards/code.h"
#include "stages/rewards/format.h"
#include "stages/rewards/language.h"
#include "stages/rewards/overlong.h"
#include "stages/rewards/reward.h"

namespace r1 {

RewardRegistry BuiltinRewardRegistry() {
  RewardRegistry registry;
  // Names are distinct literals, so registration cannot fail.
  (void)registry.Register("accuracy", MakeAccuracyReward);
  (void)registry.Register("code", MakeCodeReward);
  (void)registry.Register("format", MakeFormatReward);
  (void)registry.Register("language", MakeLanguageReward);
  (void)registry.Register("overlong", MakeOverlongReward);
  return registry;
}

}  // namespace r1
