// Tests for workers/policy_loss: hand-computed values for every aggregation mode, KL estimator and
// clip variant; gradients against finite differences; argument errors naming the argument.
#include "workers/policy_loss.h"

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker_api/worker_client.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

constexpr double kTol = 1e-9;

// A [rows, cols] f64 tensor from nested initializer lists.
at::Tensor Mat(const std::vector<std::vector<double>>& rows) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kDouble)
      .reshape({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
}

at::Tensor Vec(const std::vector<double>& v) { return torch::tensor(v, torch::kDouble); }

void ExpectTensorNear(const at::Tensor& actual, const at::Tensor& expected, double tol) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, /*rtol=*/0, tol)) << "actual:\n"
                                                                  << actual << "\nexpected:\n"
                                                                  << expected;
}

// Case 1 (B = 2, T = 3), ratios chosen so that every per-token loss is a short decimal:
//   row 0: A = +1, ratios [1.5, 0.9, 1.0], all response tokens
//   row 1: A = -2, ratios [0.5, 1.1, (pad)], mask [1, 1, 0]
// With ε = 0.2 the per-token losses pg = max(-Aρ, -A·clip(ρ, 0.8, 1.2)) are
//   row 0: [-1.2 (clipped), -0.9, -1.0]      sum -3.1
//   row 1: [ 1.6 (clipped),  2.2, pad ]      sum  3.8
struct Case1 {
  at::Tensor old_logprobs = Mat({{-1.0, -2.0, -0.5}, {-1.5, -0.7, -3.0}});
  at::Tensor ratios = Mat({{1.5, 0.9, 1.0}, {0.5, 1.1, 2.0}});
  at::Tensor logprobs = (old_logprobs + ratios.log()).detach().requires_grad_();
  at::Tensor advantages = Vec({1.0, -2.0});
  at::Tensor mask = Mat({{1, 1, 1}, {1, 1, 0}}).to(torch::kBool);

  PolicyLossInputs Inputs() const {
    PolicyLossInputs in;
    in.logprobs = logprobs;
    in.old_logprobs = old_logprobs;
    in.advantages = advantages;
    in.response_mask = mask;
    return in;
  }
};

TEST(PolicyLossTest, TokenMeanByHand) {
  Case1 c;
  PolicyLossOptions options;
  options.aggregation = LossAggregation::kTokenMean;
  auto result = ComputePolicyLoss(c.Inputs(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  // (-3.1 + 3.8) / 5 tokens
  EXPECT_NEAR(result->loss.item<double>(), 0.14, kTol);
  EXPECT_NEAR(result->pg_loss, 0.14, kTol);
  EXPECT_EQ(result->num_tokens, 5);
  EXPECT_NEAR(result->clip_fraction, 2.0 / 5.0, kTol);
  EXPECT_EQ(result->kl, 0.0);
  EXPECT_FALSE(result->entropy.has_value());
  // approx_kl = mean(ρ - 1 - log ρ) over the 5 tokens:
  //   1.5: 0.5 - 0.405465108 = 0.094534892   0.9: -0.1 + 0.105360516 = 0.005360516
  //   1.0: 0   0.5: -0.5 + 0.693147181 = 0.193147181   1.1: 0.1 - 0.095310180 = 0.004689820
  EXPECT_NEAR(result->approx_kl, (0.094534892 + 0.005360516 + 0.193147181 + 0.004689820) / 5, 1e-8);

  // Gradient: clipped tokens get 0, the others d(-Aρ)/dlogp / N = -Aρ / 5.
  result->loss.backward();
  ExpectTensorNear(c.logprobs.grad(), Mat({{0.0, -0.9 / 5, -1.0 / 5}, {0.0, 2.2 / 5, 0.0}}), kTol);
}

TEST(PolicyLossTest, SeqMeanTokenMeanByHand) {
  Case1 c;
  PolicyLossOptions options;  // kSeqMeanTokenMean is the default
  auto result = ComputePolicyLoss(c.Inputs(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  // (-3.1 / 3 + 3.8 / 2) / 2 = 13 / 30
  EXPECT_NEAR(result->loss.item<double>(), 13.0 / 30.0, kTol);
  result->loss.backward();
  // Row 0 tokens weigh 1 / (2·3), row 1 tokens 1 / (2·2).
  ExpectTensorNear(c.logprobs.grad(), Mat({{0.0, -0.9 / 6, -1.0 / 6}, {0.0, 2.2 / 4, 0.0}}), kTol);
}

TEST(PolicyLossTest, SeqMeanTokenSumNormByHand) {
  Case1 c;
  PolicyLossOptions options;
  options.aggregation = LossAggregation::kSeqMeanTokenSumNorm;
  // Default constant: T = 3. (-3.1 / 3 + 3.8 / 3) / 2 = 0.7 / 6
  auto result = ComputePolicyLoss(c.Inputs(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 0.7 / 6, kTol);
  // Explicit constant 4: (-3.1 / 4 + 3.8 / 4) / 2 = 0.7 / 8; every token weighs 1 / 8.
  options.token_sum_norm = 4.0;
  result = ComputePolicyLoss(c.Inputs(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 0.7 / 8, kTol);
  result->loss.backward();
  ExpectTensorNear(c.logprobs.grad(), Mat({{0.0, -0.9 / 8, -1.0 / 8}, {0.0, 2.2 / 8, 0.0}}), kTol);
}

TEST(PolicyLossTest, SequencesWithoutResponseTokensDoNotCount) {
  // A third, fully padded row must not change any seq-mean mode.
  Case1 c;
  PolicyLossInputs in = c.Inputs();
  at::Tensor logprobs = torch::cat({c.logprobs.detach(), Mat({{-1, -1, -1}})}).requires_grad_();
  in.logprobs = logprobs;
  in.old_logprobs = torch::cat({c.old_logprobs, Mat({{-2, -2, -2}})});
  in.advantages = Vec({1.0, -2.0, 5.0});
  in.response_mask = torch::cat({c.mask, torch::zeros({1, 3}, torch::kBool)});
  PolicyLossOptions options;
  auto result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 13.0 / 30.0, kTol);
  options.aggregation = LossAggregation::kSeqMeanTokenSumNorm;
  result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 0.7 / 6, kTol);
}

TEST(PolicyLossTest, PaddingGarbageReachesNeitherLossNorGradient) {
  Case1 c;
  PolicyLossInputs in = c.Inputs();
  at::Tensor old_logprobs = c.old_logprobs.clone();
  old_logprobs[1][2] = std::numeric_limits<double>::quiet_NaN();
  in.old_logprobs = old_logprobs;
  at::Tensor ref = c.logprobs.detach().clone();
  ref[1][2] = -std::numeric_limits<double>::infinity();
  in.ref_logprobs = ref;
  PolicyLossOptions options;
  options.aggregation = LossAggregation::kTokenMean;
  options.kl_coef = 0.5;
  auto result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 0.14, kTol);  // ref == logprobs on response tokens
  result->loss.backward();
  EXPECT_TRUE(torch::isfinite(c.logprobs.grad()).all().item<bool>()) << c.logprobs.grad();
  EXPECT_EQ(c.logprobs.grad()[1][2].item<double>(), 0.0);
}

// B = 1, T = 6: ratios [1.25, 1.3, 0.75, 0.85, 1.3, 0.75], per-token A [1, 1, -1, -1, -1, 1].
// Clipping is "active" only where the clipped term wins: ρ > 1+ε_high with A > 0, or ρ < 1-ε_low
// with A < 0. Tokens 4 and 5 lie outside the range but on the side where the min keeps ρ.
TEST(PolicyLossTest, ClipFractionWithAsymmetricClip) {
  const at::Tensor old_logprobs = torch::full({1, 6}, -1.0, torch::kDouble);
  const at::Tensor ratios = Mat({{1.25, 1.3, 0.75, 0.85, 1.3, 0.75}});
  PolicyLossInputs in;
  in.logprobs = (old_logprobs + ratios.log()).requires_grad_();
  in.old_logprobs = old_logprobs;
  in.advantages = Mat({{1, 1, -1, -1, -1, 1}});
  in.response_mask = torch::ones({1, 6}, torch::kDouble);
  PolicyLossOptions options;
  options.aggregation = LossAggregation::kTokenMean;

  options.clip_low = 0.2;
  options.clip_high = 0.28;  // DAPO clip-higher: range [0.8, 1.28]
  auto result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->clip_fraction, 2.0 / 6, kTol);  // tokens 1 and 2
  // Per-token losses: -1.25, -1.28, 0.8, 0.85, 1.3, -0.75 → sum -0.33
  EXPECT_NEAR(result->loss.item<double>(), -0.33 / 6, kTol);

  options.clip_high = 0.2;  // symmetric [0.8, 1.2]: tokens 0, 1 and 2
  result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->clip_fraction, 3.0 / 6, kTol);

  options.clip_low = 0.3;  // [0.7, 1.2]: tokens 0 and 1
  result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->clip_fraction, 2.0 / 6, kTol);

  options.clip_low = 0.3;
  options.clip_high = 0.28;  // [0.7, 1.28]: token 1 only
  result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->clip_fraction, 1.0 / 6, kTol);
}

// Dual clip c = 3 (B = 1, T = 3): ratios [5, 2, 5], A [-1, -1, +1].
//   token 0: max(5, 1.2) = 5 > 3 → capped to 3 (dual clip), gradient 0
//   token 1: max(2, 1.2) = 2 (< 3, untouched), gradient 2/3
//   token 2: max(-5, -1.2) = -1.2 (PPO clip, A > 0), gradient 0
TEST(PolicyLossTest, DualClipByHand) {
  const at::Tensor old_logprobs = torch::full({1, 3}, -2.0, torch::kDouble);
  at::Tensor logprobs = (old_logprobs + Mat({{5, 2, 5}}).log()).requires_grad_();
  PolicyLossInputs in;
  in.logprobs = logprobs;
  in.old_logprobs = old_logprobs;
  in.advantages = Mat({{-1, -1, 1}});
  in.response_mask = torch::ones({1, 3}, torch::kInt64);
  PolicyLossOptions options;
  options.aggregation = LossAggregation::kTokenMean;
  options.dual_clip = 3.0;
  auto result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), (3.0 + 2.0 - 1.2) / 3, kTol);
  EXPECT_NEAR(result->dual_clip_fraction, 1.0 / 3, kTol);
  EXPECT_NEAR(result->clip_fraction, 1.0 / 3, kTol);
  result->loss.backward();
  ExpectTensorNear(logprobs.grad(), Mat({{0.0, 2.0 / 3, 0.0}}), kTol);

  options.dual_clip.reset();  // without it token 0 keeps 5
  result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), (5.0 + 2.0 - 1.2) / 3, kTol);
  EXPECT_EQ(result->dual_clip_fraction, 0.0);
}

// d = logp - ref = [0.5, -0.5, 0]:
//   k1 = d                   = [0.5, -0.5, 0]
//   k2 = d^2 / 2             = [0.125, 0.125, 0]
//   k3 = exp(-d) + d - 1     = [0.606530660 - 0.5, 1.648721271 - 1.5, 0]
//                            = [0.106530660, 0.148721271, 0]
TEST(PolicyLossTest, KlEstimatorsByHand) {
  const at::Tensor ref = Mat({{-1.0, -2.0, -0.3}});
  const at::Tensor logprobs = ref + Mat({{0.5, -0.5, 0.0}});
  auto k1 = KlPenalty(logprobs, ref, KlEstimator::kK1);
  auto k2 = KlPenalty(logprobs, ref, KlEstimator::kK2);
  auto k3 = KlPenalty(logprobs, ref, KlEstimator::kK3);
  ASSERT_TRUE(k1.ok() && k2.ok() && k3.ok());
  ExpectTensorNear(*k1, Mat({{0.5, -0.5, 0.0}}), kTol);
  ExpectTensorNear(*k2, Mat({{0.125, 0.125, 0.0}}), kTol);
  ExpectTensorNear(*k3, Mat({{0.106530660, 0.148721271, 0.0}}), 1e-9);
}

TEST(PolicyLossTest, KlPenaltyInTheLossByHand) {
  // Ratio 1 and zero advantages: the loss is β·KL alone. A fourth, padded token has a huge d
  // that must not count.
  const at::Tensor ref = Mat({{-1.0, -2.0, -0.3, -9.0}});
  at::Tensor logprobs = (ref + Mat({{0.5, -0.5, 0.0, 7.0}})).requires_grad_();
  PolicyLossInputs in;
  in.logprobs = logprobs;
  in.old_logprobs = logprobs.detach();
  in.advantages = Vec({0.0});
  in.response_mask = Mat({{1, 1, 1, 0}});
  in.ref_logprobs = ref;
  PolicyLossOptions options;
  options.aggregation = LossAggregation::kTokenMean;
  options.kl_coef = 0.1;

  struct Expected {
    KlEstimator estimator;
    double kl_mean;  // mean over the 3 response tokens
    double grad[3];  // d(β·mean)/dlogp per token
  };
  // dk1/dd = 1; dk2/dd = d; dk3/dd = 1 - exp(-d)  (→ 1 - 0.606530660, 1 - 1.648721271, 0)
  const Expected cases[] = {
      {KlEstimator::kK1, 0.0, {0.1 / 3, 0.1 / 3, 0.1 / 3}},
      {KlEstimator::kK2, 0.25 / 3, {0.1 * 0.5 / 3, -0.1 * 0.5 / 3, 0.0}},
      {KlEstimator::kK3,
       (0.106530660 + 0.148721271) / 3,
       {0.1 * 0.393469340 / 3, -0.1 * 0.648721271 / 3, 0.0}},
  };
  for (const Expected& e : cases) {
    SCOPED_TRACE(std::string(KlEstimatorName(e.estimator)));
    options.kl_estimator = e.estimator;
    if (logprobs.grad().defined()) logprobs.grad().zero_();
    auto result = ComputePolicyLoss(in, options);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_NEAR(result->kl, e.kl_mean, 1e-9);
    EXPECT_NEAR(result->loss.item<double>(), 0.1 * e.kl_mean, 1e-9);
    EXPECT_NEAR(result->pg_loss, 0.0, kTol);
    result->loss.backward();
    ExpectTensorNear(logprobs.grad(), Mat({{e.grad[0], e.grad[1], e.grad[2], 0.0}}), 1e-9);
  }
}

TEST(PolicyLossTest, K3IsNonNegativeAndZeroAtEquality) {
  torch::manual_seed(7);
  const at::Tensor logprobs = -5.0 * torch::rand({64, 32}, torch::kDouble);
  const at::Tensor ref = -5.0 * torch::rand({64, 32}, torch::kDouble);
  auto k3 = KlPenalty(logprobs, ref, KlEstimator::kK3);
  ASSERT_TRUE(k3.ok()) << k3.status();
  EXPECT_GE(k3->min().item<double>(), 0.0);
  EXPECT_GT(k3->max().item<double>(), 0.0);
  auto zero = KlPenalty(logprobs, logprobs.clone(), KlEstimator::kK3);
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->abs().max().item<double>(), 0.0);
}

TEST(PolicyLossTest, EntropyDiagnosticFromLogits) {
  // Position 0: logits [0, 0] → H = ln 2. Position 1: [0, ln 3] → p = [1/4, 3/4],
  // H = 0.25·ln 4 + 0.75·ln(4/3) = 0.346573590 + 0.215761554 = 0.562335145. Position 2 padded.
  const at::Tensor logits =
      torch::tensor({0.0, 0.0, 0.0, std::log(3.0), 100.0, 0.0}, torch::kDouble).reshape({1, 3, 2});
  auto entropy = TokenEntropy(logits);
  ASSERT_TRUE(entropy.ok()) << entropy.status();
  EXPECT_NEAR((*entropy)[0][0].item<double>(), std::log(2.0), kTol);
  EXPECT_NEAR((*entropy)[0][1].item<double>(), 0.562335145, 1e-9);

  PolicyLossInputs in;
  in.logprobs = torch::zeros({1, 3}, torch::kDouble);
  in.old_logprobs = torch::zeros({1, 3}, torch::kDouble);
  in.advantages = Vec({1.0});
  in.response_mask = Mat({{1, 1, 0}});
  in.logits = logits;
  auto result = ComputePolicyLoss(in, PolicyLossOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->entropy.has_value());
  EXPECT_NEAR(*result->entropy, (std::log(2.0) + 0.562335145) / 2, 1e-9);
}

TEST(PolicyLossTest, AggregateTokenLossByHand) {
  // values [[1, 2, 3], [4, 5, 6]], mask [[1, 1, 0], [1, 0, 0]]
  const at::Tensor values = Mat({{1, 2, 3}, {4, 5, 6}});
  const at::Tensor mask = Mat({{1, 1, 0}, {1, 0, 0}});
  auto token_mean = AggregateTokenLoss(values, mask, LossAggregation::kTokenMean, 0);
  auto seq_mean = AggregateTokenLoss(values, mask, LossAggregation::kSeqMeanTokenMean, 0);
  auto sum_norm = AggregateTokenLoss(values, mask, LossAggregation::kSeqMeanTokenSumNorm, 10);
  ASSERT_TRUE(token_mean.ok() && seq_mean.ok() && sum_norm.ok());
  EXPECT_NEAR(token_mean->item<double>(), 7.0 / 3, kTol);        // (1 + 2 + 4) / 3
  EXPECT_NEAR(seq_mean->item<double>(), (1.5 + 4.0) / 2, kTol);  // mean(3/2, 4/1)
  EXPECT_NEAR(sum_norm->item<double>(), (3.0 / 10 + 4.0 / 10) / 2, kTol);
  EXPECT_THAT(
      AggregateTokenLoss(values, mask, LossAggregation::kSeqMeanTokenSumNorm, 0).status().message(),
      HasSubstr("token_sum_norm"));
  EXPECT_FALSE(
      AggregateTokenLoss(values, torch::zeros({2, 3}), LossAggregation::kTokenMean, 0).ok());
}

// Random inputs for the gradient checks; ratios stay within e^{±0.5} so that both clipped and
// unclipped tokens appear, and no value sits on a clip boundary within the FD step.
PolicyLossInputs RandomInputs(bool per_token_advantages, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t b = 3, t = 5;
  PolicyLossInputs in;
  in.old_logprobs = -3.0 * torch::rand({b, t}, torch::kDouble) - 0.1;
  in.logprobs = (in.old_logprobs + (torch::rand({b, t}, torch::kDouble) - 0.5)).requires_grad_();
  in.ref_logprobs = in.old_logprobs + 0.6 * (torch::rand({b, t}, torch::kDouble) - 0.5);
  in.advantages = per_token_advantages ? torch::randn({b, t}, torch::kDouble)
                                       : torch::randn({b}, torch::kDouble);
  in.response_mask = Mat({{1, 1, 1, 1, 0}, {1, 1, 0, 0, 0}, {1, 1, 1, 1, 1}});
  return in;
}

TEST(PolicyLossTest, GradientMatchesFiniteDifferencesInEveryMode) {
  const LossAggregation modes[] = {LossAggregation::kSeqMeanTokenMean, LossAggregation::kTokenMean,
                                   LossAggregation::kSeqMeanTokenSumNorm};
  const KlEstimator estimators[] = {KlEstimator::kK1, KlEstimator::kK2, KlEstimator::kK3};
  int checked = 0;
  for (LossAggregation mode : modes) {
    for (KlEstimator estimator : estimators) {
      for (bool per_token : {false, true}) {
        for (bool dual : {false, true}) {
          SCOPED_TRACE(absl::StrCat(LossAggregationName(mode), " ", KlEstimatorName(estimator),
                                    per_token ? " per-token A" : " per-seq A",
                                    dual ? " dual-clip" : ""));
          PolicyLossInputs in = RandomInputs(per_token, 100 + checked);
          PolicyLossOptions options;
          options.aggregation = mode;
          options.kl_estimator = estimator;
          options.kl_coef = 0.3;
          options.clip_low = 0.15;
          options.clip_high = 0.25;
          if (dual) options.dual_clip = 1.1;  // low enough to be active on some tokens
          auto result = ComputePolicyLoss(in, options);
          ASSERT_TRUE(result.ok()) << result.status();
          result->loss.backward();
          const at::Tensor analytic = in.logprobs.grad().clone();

          const double eps = 1e-6;
          at::Tensor numeric = torch::zeros_like(analytic);
          const at::Tensor base = in.logprobs.detach();
          for (int64_t i = 0; i < base.numel(); ++i) {
            PolicyLossInputs shifted = in;
            at::Tensor plus = base.clone();
            plus.view(-1)[i] += eps;
            shifted.logprobs = plus;
            const double up = ComputePolicyLoss(shifted, options)->loss.item<double>();
            at::Tensor minus = base.clone();
            minus.view(-1)[i] -= eps;
            shifted.logprobs = minus;
            const double down = ComputePolicyLoss(shifted, options)->loss.item<double>();
            numeric.view(-1)[i] = (up - down) / (2 * eps);
          }
          ExpectTensorNear(analytic, numeric, 1e-7);
          EXPECT_GT(analytic.abs().sum().item<double>(), 0.0);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 36);
}

TEST(PolicyLossTest, RatioOneGradientIsAdvantageWeightedLogLikelihood) {
  // At ρ = 1 with β = 0, d(-A·ρ)/dlogp = -A: the policy gradient equals that of -(A·logp)
  // aggregated the same way.
  const LossAggregation modes[] = {LossAggregation::kSeqMeanTokenMean, LossAggregation::kTokenMean,
                                   LossAggregation::kSeqMeanTokenSumNorm};
  for (LossAggregation mode : modes) {
    for (bool per_token : {false, true}) {
      SCOPED_TRACE(absl::StrCat(LossAggregationName(mode), per_token ? " per-token" : ""));
      PolicyLossInputs in = RandomInputs(per_token, 5);
      in.logprobs = in.old_logprobs.detach().clone().requires_grad_();
      in.ref_logprobs = at::Tensor();
      PolicyLossOptions options;
      options.aggregation = mode;
      options.clip_low = 0.2;
      options.clip_high = 0.28;
      auto result = ComputePolicyLoss(in, options);
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->clip_fraction, 0.0);
      EXPECT_NEAR(result->approx_kl, 0.0, kTol);
      result->loss.backward();

      const at::Tensor logp = in.old_logprobs.detach().clone().requires_grad_();
      const at::Tensor a =
          in.advantages.dim() == 1 ? in.advantages.unsqueeze(1).expand_as(logp) : in.advantages;
      auto reference = AggregateTokenLoss(-a * logp, in.response_mask, mode, /*T=*/5.0);
      ASSERT_TRUE(reference.ok()) << reference.status();
      reference->backward();
      ExpectTensorNear(in.logprobs.grad(), logp.grad(), 1e-12);
    }
  }
}

// Truncated importance sampling: with behaviour log-probs each token's policy-gradient term is
// weighted by min(π_old / π_behaviour, C), the weight carries no gradient, and the KL term is not
// weighted. Case 1 with behaviour = old - log w, w = [[1.5, 0.5, 4], [1, 2.5, pad]], C = 2:
//   weights [[1.5, 0.5, 2 (truncated)], [1, 2 (truncated), pad]]
//   pg      [[-1.8, -0.45, -2.0], [1.6, 4.4, pad]]   token mean 1.75 / 5
TEST(PolicyLossTest, BehaviourLogprobsWeightTokensByTruncatedImportanceRatios) {
  Case1 c;
  PolicyLossInputs in = c.Inputs();
  in.behaviour_logprobs = c.old_logprobs - Mat({{1.5, 0.5, 4.0}, {1.0, 2.5, 7.0}}).log();
  PolicyLossOptions options;
  options.aggregation = LossAggregation::kTokenMean;
  options.importance_cap = 2.0;
  auto result = ComputePolicyLoss(in, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 0.35, kTol);
  EXPECT_NEAR(result->pg_loss, 0.35, kTol);
  // Untruncated weights over the 5 response tokens: (1.5 + 0.5 + 4 + 1 + 2.5) / 5.
  EXPECT_NEAR(result->importance_weight_mean, 1.9, kTol);
  EXPECT_NEAR(result->importance_truncated_fraction, 2.0 / 5.0, kTol);
  // The unclipped tokens' gradient -A·ρ / 5 is scaled by their weight.
  result->loss.backward();
  ExpectTensorNear(c.logprobs.grad(),
                   Mat({{0.0, -0.9 * 0.5 / 5, -1.0 * 2.0 / 5}, {0.0, 2.2 * 2.0 / 5, 0.0}}), kTol);

  // Without behaviour log-probs nothing is weighted; a cap that is not > 0 is refused.
  auto plain = ComputePolicyLoss(c.Inputs(), options);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->importance_weight_mean, 0.0);
  options.importance_cap = 0.0;
  auto bad = ComputePolicyLoss(in, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("importance_cap must be a finite value > 0, got 0"));
  options.importance_cap = 2.0;
  in.behaviour_logprobs = Mat({{0.0, 0.0}, {0.0, 0.0}});
  bad = ComputePolicyLoss(in, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("behaviour_logprobs"));
}

TEST(PolicyLossTest, ZeroKlCoefNeedsNoReference) {
  Case1 c;
  PolicyLossOptions options;
  options.kl_coef = 0.0;
  options.kl_estimator = KlEstimator::kK3;
  auto result = ComputePolicyLoss(c.Inputs(), options);  // ref_logprobs undefined
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 13.0 / 30.0, kTol);
  EXPECT_EQ(result->kl, 0.0);

  options.kl_coef = 0.01;
  auto missing = ComputePolicyLoss(c.Inputs(), options);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("ref_logprobs"));
}

TEST(PolicyLossTest, BadInputsNameTheArgument) {
  struct BadCase {
    std::string expected;  // substring of the error
    std::function<void(PolicyLossInputs&, PolicyLossOptions&)> mutate;
  };
  const std::vector<BadCase> cases = {
      {"logprobs", [](auto& in, auto&) { in.logprobs = at::Tensor(); }},
      {"logprobs must be [B, T]", [](auto& in, auto&) { in.logprobs = torch::zeros({6}); }},
      {"old_logprobs must have shape [2, 3], got [3, 2]",
       [](auto& in, auto&) {
         in.old_logprobs = torch::zeros({3, 2}, torch::kDouble);
       }},
      {"old_logprobs must be a floating-point",
       [](auto& in, auto&) {
         in.old_logprobs = torch::zeros({2, 3}, torch::kLong);
       }},
      {"advantages must have shape [2] or [2, 3], got [3]",
       [](auto& in, auto&) { in.advantages = torch::zeros({3}, torch::kDouble); }},
      {"response_mask must have shape [2, 3], got [2, 2]",
       [](auto& in, auto&) {
         in.response_mask = torch::ones({2, 2});
       }},
      {"response_mask must hold only 0 and 1",
       [](auto& in, auto&) {
         in.response_mask = torch::full({2, 3}, 2.0);
       }},
      {"response_mask has no response token",
       [](auto& in, auto&) {
         in.response_mask = torch::zeros({2, 3});
       }},
      {"ref_logprobs must have shape [2, 3], got [2, 4]",
       [](auto& in, auto&) {
         in.ref_logprobs = torch::zeros({2, 4}, torch::kDouble);
       }},
      {"logits must have shape [2, 3, V]",
       [](auto& in, auto&) {
         in.logits = torch::zeros({2, 4, 5});
       }},
      {"clip_low", [](auto&, auto& o) { o.clip_low = 1.0; }},
      {"clip_high", [](auto&, auto& o) { o.clip_high = -0.1; }},
      {"dual_clip", [](auto&, auto& o) { o.dual_clip = 0.5; }},
      {"kl_coef", [](auto&, auto& o) { o.kl_coef = std::nan(""); }},
      {"token_sum_norm", [](auto&, auto& o) { o.token_sum_norm = -1; }},
  };
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.expected);
    Case1 c;
    PolicyLossInputs in = c.Inputs();
    PolicyLossOptions options;
    bad.mutate(in, options);
    auto result = ComputePolicyLoss(in, options);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_THAT(result.status().message(), HasSubstr(bad.expected));
  }
}

TEST(PolicyLossTest, HalfPrecisionLogProbsAreComputedInFloat) {
  // Case 1 in bf16 log-probs with f32 old log-probs: loss is f32, close to the f64 value 13/30,
  // and the gradient reaches the bf16 leaf.
  Case1 c;
  at::Tensor logprobs = c.logprobs.detach().to(torch::kBFloat16).requires_grad_();
  PolicyLossInputs in = c.Inputs();
  in.logprobs = logprobs;
  in.old_logprobs = logprobs.detach().to(torch::kFloat) - c.ratios.log().to(torch::kFloat);
  auto result = ComputePolicyLoss(in, PolicyLossOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->loss.scalar_type(), torch::kFloat);
  EXPECT_NEAR(result->loss.item<double>(), 13.0 / 30.0, 1e-5);
  result->loss.backward();
  ASSERT_TRUE(logprobs.grad().defined());
  EXPECT_EQ(logprobs.grad().scalar_type(), torch::kBFloat16);
  EXPECT_NEAR(logprobs.grad()[1][1].item<double>(), 2.2 / 4, 1e-2);
}

TEST(PolicyLossTest, ParsesNames) {
  EXPECT_EQ(*ParseLossAggregation("seq-mean-token-mean"), LossAggregation::kSeqMeanTokenMean);
  EXPECT_EQ(*ParseLossAggregation("token-mean"), LossAggregation::kTokenMean);
  EXPECT_EQ(*ParseLossAggregation("seq-mean-token-sum-norm"),
            LossAggregation::kSeqMeanTokenSumNorm);
  EXPECT_THAT(ParseLossAggregation("mean").status().message(), HasSubstr("'mean'"));
  EXPECT_EQ(*ParseKlEstimator("k1"), KlEstimator::kK1);
  EXPECT_EQ(*ParseKlEstimator("mse"), KlEstimator::kK2);
  EXPECT_EQ(*ParseKlEstimator("low_var_kl"), KlEstimator::kK3);
  EXPECT_THAT(ParseKlEstimator("k4").status().message(), HasSubstr("'k4'"));
  for (auto mode : {LossAggregation::kSeqMeanTokenMean, LossAggregation::kTokenMean,
                    LossAggregation::kSeqMeanTokenSumNorm}) {
    EXPECT_EQ(*ParseLossAggregation(LossAggregationName(mode)), mode);
  }
  for (auto k : {KlEstimator::kK1, KlEstimator::kK2, KlEstimator::kK3}) {
    EXPECT_EQ(*ParseKlEstimator(KlEstimatorName(k)), k);
  }
}

}  // namespace
}  // namespace r1
