// Hand-computed group advantages for every estimator, the all-equal group and eps behaviour.
#include "stages/advantages.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

AdvantageOptions Options(AdvantageEstimator estimator, int64_t group_size, double eps = 0.0) {
  AdvantageOptions options;
  options.estimator = estimator;
  options.group_size = group_size;
  options.eps = eps;
  return options;
}

TEST(AdvantagesTest, GrpoUsesUnbiasedStd) {
  // mean 0.25; squared deviations 0.5625 + 3 * 0.0625 = 0.75; sample var 0.75 / 3 = 0.25; std 0.5.
  auto result = ComputeGroupAdvantages({1, 0, 0, 0}, Options(AdvantageEstimator::kGrpo, 4));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->advantages, ElementsAre(DoubleNear(1.5, 1e-12), DoubleNear(-0.5, 1e-12),
                                              DoubleNear(-0.5, 1e-12), DoubleNear(-0.5, 1e-12)));
  EXPECT_THAT(result->kept_groups, ElementsAre(0));
  EXPECT_THAT(result->uniform_groups, IsEmpty());
}

TEST(AdvantagesTest, GrpoTwoSamples) {
  // mean 3, deviations +-1, sample var 2 / 1 = 2, std sqrt(2).
  auto result = ComputeGroupAdvantages({2, 4}, Options(AdvantageEstimator::kGrpo, 2));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->advantages, ElementsAre(DoubleNear(-1 / std::sqrt(2.0), 1e-12),
                                              DoubleNear(1 / std::sqrt(2.0), 1e-12)));
}

TEST(AdvantagesTest, GrpoEpsIsAddedToStd) {
  // std 0.5 + eps 0.5 = 1: the advantages are the centred rewards.
  auto result = ComputeGroupAdvantages({1, 0, 0, 0}, Options(AdvantageEstimator::kGrpo, 4, 0.5));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->advantages, ElementsAre(DoubleNear(0.75, 1e-12), DoubleNear(-0.25, 1e-12),
                                              DoubleNear(-0.25, 1e-12), DoubleNear(-0.25, 1e-12)));
  // The default eps (1e-6) shifts the value only slightly: 0.75 / 0.500001.
  AdvantageOptions defaults;
  defaults.group_size = 4;
  auto with_default = ComputeGroupAdvantages({1, 0, 0, 0}, defaults);
  ASSERT_TRUE(with_default.ok());
  EXPECT_NEAR(with_default->advantages[0], 0.75 / 0.500001, 1e-12);
}

TEST(AdvantagesTest, AllEqualGroupIsZeroAndReportedEvenWithZeroEps) {
  for (auto estimator :
       {AdvantageEstimator::kGrpo, AdvantageEstimator::kDrGrpo, AdvantageEstimator::kRloo}) {
    auto result = ComputeGroupAdvantages({1, 1, 1, 0.5, 0.5, 0.5}, Options(estimator, 3, 0.0));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_THAT(result->advantages, ElementsAre(0, 0, 0, 0, 0, 0));
    EXPECT_THAT(result->uniform_groups, ElementsAre(0, 1));
    EXPECT_THAT(result->kept_groups, ElementsAre(0, 1));
    for (double a : result->advantages) EXPECT_FALSE(std::isnan(a));
  }
}

TEST(AdvantagesTest, DrGrpoOnlyCentres) {
  auto result = ComputeGroupAdvantages({1, 0, 0, 0, 3, 1}, Options(AdvantageEstimator::kDrGrpo, 2));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->advantages, ElementsAre(0.5, -0.5, 0, 0, 1, -1));
  EXPECT_THAT(result->uniform_groups, ElementsAre(1));
}

TEST(AdvantagesTest, DrGrpoAcceptsSingleSampleGroups) {
  auto result = ComputeGroupAdvantages({5, 7}, Options(AdvantageEstimator::kDrGrpo, 1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->advantages, ElementsAre(0, 0));
}

TEST(AdvantagesTest, RlooLeaveOneOut) {
  // A_0 = 1 - mean(0, 0, 0) = 1; A_1 = 0 - mean(1, 0, 0) = -1/3.
  auto result = ComputeGroupAdvantages({1, 0, 0, 0}, Options(AdvantageEstimator::kRloo, 4));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->advantages,
              ElementsAre(DoubleNear(1, 1e-12), DoubleNear(-1.0 / 3, 1e-12),
                          DoubleNear(-1.0 / 3, 1e-12), DoubleNear(-1.0 / 3, 1e-12)));
  // {2, 4, 9}: 2 - 6.5 = -4.5, 4 - 5.5 = -1.5, 9 - 3 = 6.
  auto second = ComputeGroupAdvantages({2, 4, 9}, Options(AdvantageEstimator::kRloo, 3));
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(second->advantages,
              ElementsAre(DoubleNear(-4.5, 1e-12), DoubleNear(-1.5, 1e-12), DoubleNear(6, 1e-12)));
}

TEST(AdvantagesTest, DynamicSamplingDropsUniformGroups) {
  AdvantageOptions options = Options(AdvantageEstimator::kDrGrpo, 2);
  options.drop_uniform_groups = true;
  auto result = ComputeGroupAdvantages({1, 1, 1, 0, 0, 0, 2, 4}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->kept_groups, ElementsAre(1, 3));
  EXPECT_THAT(result->uniform_groups, ElementsAre(0, 2));
  EXPECT_THAT(result->advantages, ElementsAre(0.5, -0.5, -1, 1));
}

TEST(AdvantagesTest, UniformToleranceTreatsNearlyEqualAsEqual) {
  AdvantageOptions options = Options(AdvantageEstimator::kGrpo, 2);
  auto strict = ComputeGroupAdvantages({1, 1 + 1e-9}, options);
  ASSERT_TRUE(strict.ok());
  EXPECT_THAT(strict->uniform_groups, IsEmpty());
  options.uniform_tolerance = 1e-6;
  auto tolerant = ComputeGroupAdvantages({1, 1 + 1e-9}, options);
  ASSERT_TRUE(tolerant.ok());
  EXPECT_THAT(tolerant->uniform_groups, ElementsAre(0));
}

TEST(AdvantagesTest, EmptyInputGivesEmptyResult) {
  auto result = ComputeGroupAdvantages({}, Options(AdvantageEstimator::kGrpo, 4));
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->advantages, IsEmpty());
}

TEST(AdvantagesTest, Errors) {
  auto not_multiple = ComputeGroupAdvantages({1, 2, 3}, Options(AdvantageEstimator::kGrpo, 2));
  EXPECT_EQ(not_multiple.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(not_multiple.status().message()), ::testing::HasSubstr("multiple"));
  EXPECT_FALSE(ComputeGroupAdvantages({1, 2}, Options(AdvantageEstimator::kRloo, 1)).ok());
  EXPECT_FALSE(ComputeGroupAdvantages({1, 2}, Options(AdvantageEstimator::kGrpo, 1)).ok());
  EXPECT_FALSE(ComputeGroupAdvantages({1, 2}, Options(AdvantageEstimator::kDrGrpo, 0)).ok());
  EXPECT_FALSE(ComputeGroupAdvantages({1, 2}, Options(AdvantageEstimator::kGrpo, 2, -1)).ok());
  auto nan = ComputeGroupAdvantages({1, NAN}, Options(AdvantageEstimator::kGrpo, 2));
  EXPECT_THAT(std::string(nan.status().message()), ::testing::HasSubstr("reward 1"));
}

}  // namespace
}  // namespace r1
