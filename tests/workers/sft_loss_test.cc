// Tests for workers/sft_loss: hand-computed cross-entropy and gradient, prompt tokens ignored,
// agreement with torch's cross_entropy, packed == padded, shifted labels, argument errors.
#include "workers/sft_loss.h"

#include <torch/torch.h>

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

constexpr double kTol = 1e-9;

at::Tensor Longs(const std::vector<std::vector<int64_t>>& rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kLong)
      .reshape({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
}

// B = 1, T = 3, V = 2. Position 0 is a prompt token; positions 1 and 2 have logits [0, ln 3], so
// p = [1/4, 3/4]: label 1 costs -ln(3/4) = 0.287682072, label 0 costs ln 4 = 1.386294361.
struct HandCase {
  at::Tensor logits =
      torch::tensor({0.0, 0.0, 0.0, std::log(3.0), 0.0, std::log(3.0)}, torch::kDouble)
          .reshape({1, 3, 2})
          .requires_grad_();
  at::Tensor labels = Longs({{1, 1, 0}});
  at::Tensor mask = Longs({{0, 1, 1}});
};

TEST(SftLossTest, MeanByHand) {
  HandCase c;
  auto result = SftCrossEntropyLoss(c.logits, c.labels, c.mask, SftLossOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), (0.287682072 + 1.386294361) / 2, 1e-9);
  EXPECT_EQ(result->num_tokens, 2);
  EXPECT_NEAR(result->mean_nll, (0.287682072 + 1.386294361) / 2, 1e-9);
  EXPECT_NEAR(result->accuracy, 0.5, kTol);  // argmax is 1 at both positions
  // d nll / d z = softmax - onehot, / 2 tokens: pos 1 [0.25, -0.25] / 2, pos 2 [-0.75, 0.75] / 2.
  result->loss.backward();
  const at::Tensor expected =
      torch::tensor({0.0, 0.0, 0.125, -0.125, -0.375, 0.375}, torch::kDouble).reshape({1, 3, 2});
  EXPECT_TRUE(torch::allclose(c.logits.grad(), expected, 0, kTol)) << c.logits.grad();
}

TEST(SftLossTest, SumByHandAndIgnoreLabelEqualsMask) {
  HandCase c;
  SftLossOptions options;
  options.reduction = SftReduction::kSum;
  // The same positions excluded by label -100 instead of the mask.
  auto result = SftCrossEntropyLoss(c.logits, Longs({{-100, 1, 0}}), at::Tensor(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss.item<double>(), 0.287682072 + 1.386294361, 1e-9);
  EXPECT_NEAR(result->mean_nll, (0.287682072 + 1.386294361) / 2, 1e-9);
}

TEST(SftLossTest, PromptTokensAffectNeitherLossNorGradient) {
  torch::manual_seed(3);
  const int64_t b = 2, t = 6, v = 7;
  const at::Tensor mask = Longs({{0, 0, 1, 1, 1, 0}, {0, 0, 0, 1, 1, 1}});
  at::Tensor logits = torch::randn({b, t, v}, torch::kDouble).requires_grad_();
  const at::Tensor labels = torch::randint(0, v, {b, t}, torch::kLong);
  auto first = SftCrossEntropyLoss(logits, labels, mask, SftLossOptions{});
  ASSERT_TRUE(first.ok()) << first.status();
  first->loss.backward();
  const at::Tensor grad = logits.grad().clone();
  const at::Tensor prompt = mask.eq(0).unsqueeze(-1).expand({b, t, v});
  EXPECT_EQ(grad.masked_select(prompt).abs().max().item<double>(), 0.0);
  EXPECT_GT(grad.abs().sum().item<double>(), 0.0);

  // Other logits and labels at prompt positions: same loss.
  const at::Tensor other_logits =
      torch::where(prompt, 10 * torch::randn({b, t, v}, torch::kDouble), logits.detach());
  const at::Tensor other_labels = torch::where(mask.eq(0), (labels + 3) % v, labels);
  auto second = SftCrossEntropyLoss(other_logits, other_labels, mask, SftLossOptions{});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NEAR(second->loss.item<double>(), first->loss.item<double>(), 1e-12);
}

TEST(SftLossTest, EqualsTorchCrossEntropyOnResponseTokens) {
  torch::manual_seed(4);
  const int64_t b = 3, t = 5, v = 11;
  const at::Tensor logits = torch::randn({b, t, v}, torch::kDouble);
  const at::Tensor labels = torch::randint(0, v, {b, t}, torch::kLong);
  const at::Tensor mask = Longs({{0, 1, 1, 1, 1}, {0, 0, 1, 0, 0}, {0, 0, 1, 1, 0}});
  auto result = SftCrossEntropyLoss(logits, labels, mask, SftLossOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  const at::Tensor keep = mask.eq(1);
  const at::Tensor selected_logits = logits.masked_select(keep.unsqueeze(-1)).reshape({-1, v});
  const at::Tensor selected_labels = labels.masked_select(keep);
  const double reference =
      torch::nn::functional::cross_entropy(selected_logits, selected_labels).item<double>();
  EXPECT_NEAR(result->loss.item<double>(), reference, 1e-12);
  EXPECT_EQ(result->num_tokens, 7);
}

TEST(SftLossTest, PackedAndPaddedGiveTheSameLoss) {
  // Two examples: A of length 4 (response tokens 2, 3) and B of length 3 (response tokens 1, 2).
  torch::manual_seed(5);
  const int64_t v = 9;
  const at::Tensor logits_a = torch::randn({4, v}, torch::kDouble);
  const at::Tensor logits_b = torch::randn({3, v}, torch::kDouble);
  const at::Tensor labels_a = torch::tensor({-100, -100, 3, 8}, torch::kLong);
  const at::Tensor labels_b = torch::tensor({-100, 0, 5}, torch::kLong);

  // Padded: [2, 4], B's last position padding (label -100, garbage logits).
  at::Tensor padded =
      torch::stack({logits_a, torch::cat({logits_b, 100 * torch::ones({1, v}, torch::kDouble)})})
          .requires_grad_();
  const at::Tensor padded_labels =
      torch::stack({labels_a, torch::cat({labels_b, torch::tensor({-100}, torch::kLong)})});
  // Packed: [1, 7], A then B in one row.
  at::Tensor packed = torch::cat({logits_a, logits_b}).unsqueeze(0).requires_grad_();
  const at::Tensor packed_labels = torch::cat({labels_a, labels_b}).unsqueeze(0);

  for (SftReduction reduction : {SftReduction::kMean, SftReduction::kSum}) {
    SftLossOptions options;
    options.reduction = reduction;
    auto from_padded = SftCrossEntropyLoss(padded, padded_labels, at::Tensor(), options);
    auto from_packed = SftCrossEntropyLoss(packed, packed_labels, at::Tensor(), options);
    ASSERT_TRUE(from_padded.ok() && from_packed.ok());
    EXPECT_NEAR(from_padded->loss.item<double>(), from_packed->loss.item<double>(), 1e-12);
    EXPECT_EQ(from_padded->num_tokens, 4);
    EXPECT_EQ(from_packed->num_tokens, 4);
    if (padded.grad().defined()) padded.grad().zero_(), packed.grad().zero_();
    from_padded->loss.backward();
    from_packed->loss.backward();
    const at::Tensor padded_grad = torch::cat({padded.grad()[0], padded.grad()[1].narrow(0, 0, 3)});
    EXPECT_TRUE(torch::allclose(padded_grad, packed.grad()[0], 0, 1e-12));
  }
}

TEST(SftLossTest, ShiftedLabelsByHand) {
  auto simple = ShiftedLabels(Longs({{5, 6, 7, 8}}), Longs({{0, 0, 1, 1}}), at::Tensor());
  ASSERT_TRUE(simple.ok()) << simple.status();
  EXPECT_TRUE(torch::equal(*simple, Longs({{-100, 7, 8, -100}}))) << *simple;

  // Packed row: example 0 = ids 1 2 3 (response 2 3), example 1 = ids 4 5 6 with no prompt.
  const at::Tensor ids = Longs({{1, 2, 3, 4, 5, 6}});
  const at::Tensor mask = Longs({{0, 1, 1, 1, 1, 1}});
  auto unsegmented = ShiftedLabels(ids, mask, at::Tensor());
  ASSERT_TRUE(unsegmented.ok());
  EXPECT_TRUE(torch::equal(*unsegmented, Longs({{2, 3, 4, 5, 6, -100}}))) << *unsegmented;
  auto segmented = ShiftedLabels(ids, mask, Longs({{0, 0, 0, 1, 1, 1}}), /*ignore_index=*/-1);
  ASSERT_TRUE(segmented.ok());
  EXPECT_TRUE(torch::equal(*segmented, Longs({{2, 3, -1, 5, 6, -1}}))) << *segmented;

  EXPECT_THAT(ShiftedLabels(ids, Longs({{0, 1}}), at::Tensor()).status().message(),
              HasSubstr("loss_mask"));
  EXPECT_THAT(ShiftedLabels(ids, mask, Longs({{0, 1}})).status().message(),
              HasSubstr("segment_ids"));
}

TEST(SftLossTest, HalfPrecisionLogitsAreComputedInFloat) {
  HandCase c;
  auto result = SftCrossEntropyLoss(c.logits.detach().to(torch::kBFloat16), c.labels, c.mask,
                                    SftLossOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->loss.scalar_type(), torch::kFloat);
  EXPECT_NEAR(result->loss.item<double>(), 0.836988, 1e-2);  // bf16 rounds ln 3
}

TEST(SftLossTest, BadInputsNameTheProblem) {
  HandCase c;
  SftLossOptions mean;
  auto out_of_range = SftCrossEntropyLoss(c.logits, Longs({{1, 2, 0}}), c.mask, mean);
  EXPECT_EQ(out_of_range.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out_of_range.status().message(), HasSubstr("labels[0, 1] = 2"));
  // An out-of-range label at a masked position is fine.
  EXPECT_TRUE(SftCrossEntropyLoss(c.logits, Longs({{7, 1, 0}}), c.mask, mean).ok());

  EXPECT_THAT(SftCrossEntropyLoss(c.logits.detach().reshape({3, 2}), c.labels, c.mask, mean)
                  .status()
                  .message(),
              HasSubstr("logits must be [B, T, V]"));
  EXPECT_THAT(SftCrossEntropyLoss(c.logits, Longs({{1, 1}}), c.mask, mean).status().message(),
              HasSubstr("labels must have shape [1, 3], got [1, 2]"));
  EXPECT_THAT(
      SftCrossEntropyLoss(c.logits, c.labels.to(torch::kFloat), c.mask, mean).status().message(),
      HasSubstr("labels must be an integer tensor"));
  EXPECT_THAT(SftCrossEntropyLoss(c.logits, c.labels, Longs({{0, 2, 1}}), mean).status().message(),
              HasSubstr("loss_mask must hold only 0 and 1"));
  EXPECT_THAT(SftCrossEntropyLoss(c.logits, c.labels, Longs({{0, 0, 0}}), mean).status().message(),
              HasSubstr("no counted token"));
  SftLossOptions sum;
  sum.reduction = SftReduction::kSum;
  auto empty_sum = SftCrossEntropyLoss(c.logits, c.labels, Longs({{0, 0, 0}}), sum);
  ASSERT_TRUE(empty_sum.ok()) << empty_sum.status();
  EXPECT_EQ(empty_sum->loss.item<double>(), 0.0);
  EXPECT_EQ(empty_sum->num_tokens, 0);
}

}  // namespace
}  // namespace r1
