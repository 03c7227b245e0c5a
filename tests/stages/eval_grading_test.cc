// The eval stage's per-sample grading: exact match for the synthetic direct-answer (non-reasoning)
// tasks, math verification for everything else.
#include <gtest/gtest.h>

#include "pipeline/datasets.h"
#include "stages/sampling_stages.h"

namespace r1 {
namespace {

Example Make(const std::string& task, const std::string& reference) {
  Example ex;
  ex.id = "x";
  ex.task = task;
  ex.prompt = "p";
  ex.reference = reference;
  return ex;
}

TEST(GradeEvalSampleTest, DirectAnswerTasksNeedTheExactText) {
  const Example upper = Make("uppercase", "CAT DOG");
  EXPECT_TRUE(GradeEvalSample(upper, "CAT DOG").correct);
  EXPECT_TRUE(GradeEvalSample(upper, "  CAT DOG\n").correct);
  EXPECT_EQ(GradeEvalSample(upper, " CAT DOG ").answer, "CAT DOG");
  // Case matters (the math normaliser would lowercase both), and so do extra words.
  EXPECT_FALSE(GradeEvalSample(upper, "cat dog").correct);
  EXPECT_FALSE(GradeEvalSample(upper, "CAT DOG CAT DOG").correct);
  // An <answer> tag, when present, holds the answer.
  EXPECT_TRUE(GradeEvalSample(upper, "<think>shout</think><answer>CAT DOG</answer>").correct);
  EXPECT_FALSE(GradeEvalSample(upper, "<think>CAT DOG</think><answer>cat</answer>").correct);
  EXPECT_FALSE(GradeEvalSample(upper, "").correct);
  EXPECT_EQ(GradeEvalSample(upper, "").answer, "");
}

TEST(GradeEvalSampleTest, IdentityAnswerWithADigitIsStillExactMatch) {
  // "r1" holds a digit: a math grader would compare the last number ("1") and fail.
  const Example id = Make("identity", "I am r1, an AI assistant. How can I help you?");
  EXPECT_TRUE(GradeEvalSample(id, "I am r1, an AI assistant. How can I help you?").correct);
  EXPECT_FALSE(GradeEvalSample(id, "I am a human.").correct);
  EXPECT_TRUE(GradeEvalSample(Make("successor", "c"), "c").correct);
  EXPECT_FALSE(GradeEvalSample(Make("successor", "c"), "b").correct);
  EXPECT_TRUE(GradeEvalSample(Make("successor", "43"), "43").correct);
}

TEST(GradeEvalSampleTest, ReasoningTasksUseMathVerification) {
  const Example sum = Make("arithmetic", "132");
  const EvalGrade right = GradeEvalSample(sum, "<think>47+85=132</think><answer>132</answer>");
  EXPECT_TRUE(right.correct);
  EXPECT_EQ(right.answer, "132");
  EXPECT_FALSE(GradeEvalSample(sum, "<think>47+85=131</think><answer>131</answer>").correct);
  // Not exact text, but the same number.
  EXPECT_TRUE(GradeEvalSample(sum, "<answer> 132.0 </answer>").correct);
  EXPECT_TRUE(GradeEvalSample(Make("", "7"), "so the answer is 7").correct);
  // Countdown: an expression over the given numbers that hits the target.
  EXPECT_TRUE(
      GradeEvalSample(Make("countdown", "target=8;numbers=3,5"), "<answer>3+5</answer>").correct);
  EXPECT_FALSE(
      GradeEvalSample(Make("countdown", "target=8;numbers=3,5"), "<answer>8</answer>").correct);
}

}  // namespace
}  // namespace r1
