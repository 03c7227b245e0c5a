// The config enums' name tables: ToString and ParseEnum are inverse, unknown names are rejected,
// and the accepted-name list is what error messages show.
#include "pipeline/config_types.h"

#include "gtest/gtest.h"

namespace r1 {
namespace {

template <typename E>
void ExpectRoundTrip() {
  for (const auto& entry : EnumEntries(E{})) {
    EXPECT_EQ(ToString(entry.value), entry.name);
    ASSERT_TRUE(ParseEnum<E>(entry.name).has_value()) << entry.name;
    EXPECT_EQ(*ParseEnum<E>(entry.name), entry.value) << entry.name;
  }
  EXPECT_FALSE(ParseEnum<E>("").has_value());
  EXPECT_FALSE(ParseEnum<E>("no_such_name").has_value());
}

TEST(ConfigTypesTest, EveryNameRoundTrips) {
  ExpectRoundTrip<ClusterMode>();
  ExpectRoundTrip<Launcher>();
  ExpectRoundTrip<Placement>();
  ExpectRoundTrip<CollectiveBackend>();
  ExpectRoundTrip<DeviceKind>();
  ExpectRoundTrip<ModelDtype>();
  ExpectRoundTrip<LrSchedule>();
  ExpectRoundTrip<KlEstimator>();
  ExpectRoundTrip<LossAggregation>();
  ExpectRoundTrip<AdvantageEstimator>();
  ExpectRoundTrip<RewardScope>();
  ExpectRoundTrip<RewardTarget>();
}

TEST(ConfigTypesTest, ConfigNames) {
  EXPECT_EQ(*ParseEnum<LossAggregation>("constant"), LossAggregation::kSeqMeanTokenSumNorm);
  EXPECT_EQ(*ParseEnum<LossAggregation>("token_mean"), LossAggregation::kTokenMean);
  EXPECT_EQ(*ParseEnum<AdvantageEstimator>("dr_grpo"), AdvantageEstimator::kDrGrpo);
  EXPECT_EQ(ToString(Launcher::kInProcess), "in_process");
  EXPECT_FALSE(ParseEnum<KlEstimator>("low_var_kl").has_value());  // a wire alias only
  EXPECT_FALSE(ParseEnum<Placement>("Colocated").has_value());     // names are case-sensitive
  EXPECT_EQ(EnumNameList<KlEstimator>(), "k1, k2, k3");
  EXPECT_EQ(EnumNameList<RewardTarget>(), "auto, reasoning, general, all");
}

}  // namespace
}  // namespace r1
