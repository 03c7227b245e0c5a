// Tests for workers/reward_model_loss: Bradley–Terry loss, gradient and diagnostics by hand.
#include "workers/reward_model_loss.h"

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

constexpr double kTol = 1e-9;

at::Tensor Vec(const std::vector<double>& v) { return torch::tensor(v, torch::kDouble); }

// chosen [2, 0, 1], rejected [1, 0, 3]: differences d = [1, 0, -2].
//   -log σ(1)  = ln(1 + e^-1) = 0.313261687
//   -log σ(0)  = ln 2         = 0.693147181
//   -log σ(-2) = ln(1 + e^2)  = 2.126928011
// d/dchosen of -log σ(d) = -σ(-d): σ(-1) = 0.268941421, σ(0) = 0.5, σ(2) = 0.880797078.
TEST(RewardModelLossTest, LossGradientAndDiagnosticsByHand) {
  at::Tensor chosen = Vec({2, 0, 1}).requires_grad_();
  at::Tensor rejected = Vec({1, 0, 3}).requires_grad_();
  auto result = BradleyTerryLoss(chosen, rejected);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), (0.313261687 + 0.693147181 + 2.126928011) / 3, 1e-9);
  EXPECT_NEAR(result->accuracy, 1.0 / 3, kTol);  // the tie does not count as correct
  EXPECT_NEAR(result->mean_margin, -1.0 / 3, kTol);
  EXPECT_NEAR(result->chosen_mean, 1.0, kTol);
  EXPECT_NEAR(result->rejected_mean, 4.0 / 3, kTol);
  result->loss.backward();
  const at::Tensor expected = -Vec({0.268941421, 0.5, 0.880797078}) / 3;
  EXPECT_TRUE(torch::allclose(chosen.grad(), expected, 0, 1e-9)) << chosen.grad();
  EXPECT_TRUE(torch::allclose(rejected.grad(), -expected, 0, 1e-9)) << rejected.grad();
}

// With margin 1 the logits are d - 1 = [0, -1, -3]:
//   ln 2 = 0.693147181, ln(1 + e) = 1.313261687, ln(1 + e^3) = 3.048587352.
TEST(RewardModelLossTest, MarginScalarAndPerPair) {
  const at::Tensor chosen = Vec({2, 0, 1});
  const at::Tensor rejected = Vec({1, 0, 3});
  const double expected = (0.693147181 + 1.313261687 + 3.048587352) / 3;
  auto scalar = BradleyTerryLoss(chosen, rejected, torch::tensor(1.0, torch::kDouble));
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_NEAR(scalar->loss.item<double>(), expected, 1e-9);
  EXPECT_NEAR(scalar->mean_margin, -1.0 / 3, kTol);  // diagnostics exclude the margin term
  // Per pair [1, 0, 2]: logits [0, 0, -4] → (ln 2 + ln 2 + ln(1 + e^4) = 4.018149928) / 3.
  auto per_pair = BradleyTerryLoss(chosen, rejected, Vec({1, 0, 2}));
  ASSERT_TRUE(per_pair.ok()) << per_pair.status();
  EXPECT_NEAR(per_pair->loss.item<double>(), (2 * 0.693147181 + 4.018149928) / 3, 1e-9);
}

TEST(RewardModelLossTest, StableForLargeDifferences) {
  auto result = BradleyTerryLoss(Vec({1000, -1000}), Vec({-1000, 1000}));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 1000.0, 1e-9);  // (0 + 2000) / 2
  EXPECT_NEAR(result->accuracy, 0.5, kTol);
}

TEST(RewardModelLossTest, BadInputsNameTheArgument) {
  const at::Tensor three = Vec({1, 2, 3});
  EXPECT_THAT(BradleyTerryLoss(at::Tensor(), three).status().message(), HasSubstr("chosen"));
  EXPECT_THAT(BradleyTerryLoss(three, Vec({1, 2})).status().message(),
              HasSubstr("rejected must have shape [3], got [2]"));
  EXPECT_THAT(BradleyTerryLoss(three.reshape({3, 1}), three).status().message(),
              HasSubstr("chosen must be [B]"));
  EXPECT_THAT(BradleyTerryLoss(Vec({}), Vec({})).status().message(), HasSubstr("B >= 1"));
  EXPECT_THAT(BradleyTerryLoss(three, torch::tensor({1, 2, 3})).status().message(),
              HasSubstr("rejected must be a floating-point"));
  EXPECT_THAT(BradleyTerryLoss(three, three, Vec({1, 2})).status().message(),
              HasSubstr("margin must be a scalar or have shape [3]"));
}

}  // namespace
}  // namespace r1
