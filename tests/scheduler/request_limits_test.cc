// The Worker service's request bounds (worker_api/request_limits.h): each hostile shape is refused
// with the right code and a message naming the limit; requests inside the limits pass.
#include "worker_api/request_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace r1 {
namespace {

using ::testing::HasSubstr;

void AddSequence(google::protobuf::RepeatedPtrField<v1::TokenIds>* list, int length) {
  v1::TokenIds* ids = list->Add();
  for (int i = 0; i < length; ++i) ids->add_ids(i % 7);
}

v1::GenerateRequest Generate(const std::vector<int>& prompt_lengths, int max_new_tokens) {
  v1::GenerateRequest request;
  request.set_slot("policy");
  for (int length : prompt_lengths) {
    AddSequence(request.mutable_prompts(), length);
    v1::SamplingParams* params = request.add_params();
    params->set_max_new_tokens(max_new_tokens);
    params->set_top_p(1.0f);
  }
  return request;
}

WorkerRequestLimits SmallLimits() {
  WorkerRequestLimits limits;
  limits.max_sequences = 4;
  limits.max_padded_tokens = 100;
  limits.max_new_tokens = 50;
  return limits;
}

TEST(RequestLimitsTest, GenerateInsideTheLimitsPasses) {
  EXPECT_TRUE(CheckGenerateRequest(Generate({3, 10}, 40), SmallLimits()).ok());
  EXPECT_TRUE(CheckGenerateRequest(Generate({}, 40), SmallLimits()).ok());
  EXPECT_TRUE(CheckGenerateRequest(Generate({3, 10}, 16)).ok());  // the defaults
}

TEST(RequestLimitsTest, GenerateRefusesMismatchedParams) {
  v1::GenerateRequest request = Generate({3, 4}, 8);
  request.mutable_params()->RemoveLast();
  absl::Status s = CheckGenerateRequest(request, SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("2 prompts but 1 SamplingParams"));
}

TEST(RequestLimitsTest, GenerateRefusesNegativeMaxNewTokens) {
  absl::Status s = CheckGenerateRequest(Generate({3}, -5), SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("max_new_tokens -5 < 0"));
}

TEST(RequestLimitsTest, GenerateRefusesAbsurdMaxNewTokens) {
  absl::Status s = CheckGenerateRequest(Generate({3}, 51), SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("max_new_tokens 51 exceeds the limit of 50"));
  // INT32_MAX against the default limits: the KV cache it would need is never allocated.
  s = CheckGenerateRequest(Generate({3}, 2147483647));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("max_new_tokens 2147483647 exceeds the limit"));
}

TEST(RequestLimitsTest, GenerateRefusesTooManyPromptsAndTooLargeCache) {
  absl::Status s = CheckGenerateRequest(Generate({1, 1, 1, 1, 1}, 1), SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("5 sequences exceed the limit of 4 per request"));
  // 3 rows x (longest prompt 30 + 5 new tokens) = 105 > 100.
  s = CheckGenerateRequest(Generate({1, 30, 2}, 5), SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("3 sequences x 35 tokens exceeds the limit of 100 tokens"));
}

TEST(RequestLimitsTest, LogprobsAndScoreCheckCountsAndPaddedSize) {
  v1::LogprobsRequest logprobs;
  AddSequence(logprobs.mutable_prompts(), 5);
  AddSequence(logprobs.mutable_responses(), 5);
  EXPECT_TRUE(CheckLogprobsRequest(logprobs, SmallLimits()).ok());
  AddSequence(logprobs.mutable_prompts(), 5);
  absl::Status s = CheckLogprobsRequest(logprobs, SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("2 prompts but 1 responses"));
  // One long sequence pads every row: 2 x (5 + 60) = 130 > 100.
  AddSequence(logprobs.mutable_responses(), 60);
  s = CheckLogprobsRequest(logprobs, SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("ComputeLogprobs: the padded batch of 2 sequences x 65"));

  v1::ScoreRequest score;
  for (int i = 0; i < 5; ++i) {
    AddSequence(score.mutable_prompts(), 1);
    AddSequence(score.mutable_responses(), 1);
  }
  s = CheckScoreRequest(score, SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("ScoreRewards: 5 sequences exceed the limit of 4"));
}

TEST(RequestLimitsTest, TrainStepCountsRejectedResponses) {
  v1::TrainStepRequest train;
  train.set_objective("reward_model");
  AddSequence(train.mutable_prompts(), 10);
  AddSequence(train.mutable_responses(), 20);
  EXPECT_TRUE(CheckTrainStepRequest(train, SmallLimits()).ok());
  AddSequence(train.mutable_rejected(), 80);
  absl::Status s = CheckTrainStepRequest(train, SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("TrainStep: the padded batch of 1 sequences x 110 tokens"));
  AddSequence(train.mutable_prompts(), 1);
  AddSequence(train.mutable_responses(), 1);
  s = CheckTrainStepRequest(train, SmallLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("2 prompts but 1 rejected responses"));
}

}  // namespace
}  // namespace r1
