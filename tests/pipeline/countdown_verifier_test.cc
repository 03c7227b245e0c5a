// Tests for the countdown verifier: it accepts right answers and rejects wrong, reused, foreign
// and malformed ones with a reason; the reference format round-trips.
#include "pipeline/countdown_verifier.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

CountdownVerdict Check(const std::string& expr, std::vector<int64_t> numbers, int64_t target) {
  return VerifyCountdown(expr, numbers, target);
}

TEST(VerifyCountdownTest, AcceptsCorrectExpressions) {
  EXPECT_TRUE(Check("(25-5)*4+3", {3, 5, 25, 4}, 83).correct);
  EXPECT_TRUE(Check(" ( 25 - 5 ) * 4 + 3 = 83 ", {3, 5, 25, 4}, 83).correct);
  EXPECT_TRUE(Check("25*4-5*3", {3, 5, 25, 4}, 85).correct);  // precedence
  EXPECT_TRUE(Check("25-(5-4)", {5, 25, 4}, 24).correct);
  EXPECT_TRUE(Check("25-5-4", {5, 25, 4}, 16).correct);  // left associative
  EXPECT_TRUE(Check("100/5/4", {100, 5, 4}, 5).correct);
  EXPECT_TRUE(Check("7/2*2", {7, 2, 2}, 7).correct);  // exact rationals, not 6
  EXPECT_TRUE(Check("(1/3+1/3+1/3)", {1, 1, 1, 3, 3, 3}, 1).correct);
  EXPECT_TRUE(Check("5+5", {5, 5, 3}, 10).correct);  // a repeated number, twice given
  EXPECT_TRUE(Check("((((3))))", {3}, 3).correct);
}

TEST(VerifyCountdownTest, RejectsWrongValue) {
  CountdownVerdict v = Check("25*4+3", {3, 5, 25, 4}, 83);
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.reason, "evaluates to 103, not 83");
  v = Check("7/2", {7, 2}, 3);
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.reason, "evaluates to 7/2, not 3");
  v = Check("3-25", {3, 25}, -22);
  EXPECT_TRUE(v.correct);  // negative intermediate values are fine for the verifier
  v = Check("25+3 = 29", {3, 25}, 28);
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.reason, "claims 29 but the target is 28");
}

TEST(VerifyCountdownTest, RejectsForeignAndReusedNumbers) {
  CountdownVerdict v = Check("25+7", {3, 5, 25}, 32);
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.reason, "uses 7, which is not among the numbers");
  v = Check("5*5+3", {3, 5, 25}, 28);
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.reason, "uses 5 more times than it is given");
  v = Check("5+5+5", {5, 5}, 15);
  EXPECT_FALSE(v.correct);
  EXPECT_THAT(v.reason, HasSubstr("more times"));
  v = Check("25", {3, 25}, 25);
  EXPECT_TRUE(v.correct);
  EXPECT_FALSE(VerifyCountdown("25", std::vector<int64_t>{3, 25}, 25, true).correct);
  EXPECT_EQ(VerifyCountdown("25", std::vector<int64_t>{3, 25}, 25, true).reason, "does not use 3");
}

TEST(VerifyCountdownTest, DivisionByZeroAndMalformedInput) {
  EXPECT_EQ(Check("5/(3-3)", {5, 3, 3}, 1).reason, "division by zero");
  EXPECT_EQ(Check("", {1}, 1).reason, "empty expression");
  EXPECT_EQ(Check("   ", {1}, 1).reason, "empty expression");
  EXPECT_EQ(Check("3+", {3}, 3).reason, "expression ends too early");
  EXPECT_EQ(Check("(3+4", {3, 4}, 7).reason, "missing ')' at offset 4");
  EXPECT_EQ(Check("3+4)", {3, 4}, 7).reason, "unexpected ')' at offset 3");
  EXPECT_EQ(Check("-3+10", {3, 10}, 7).reason, "unary '-' at offset 0 is not allowed");
  EXPECT_EQ(Check("3 4", {3, 4}, 7).reason, "unexpected '4' at offset 2");
  EXPECT_EQ(Check("3x4", {3, 4}, 12).reason, "unexpected 'x' at offset 1");
  EXPECT_EQ(Check("3+4=seven", {3, 4}, 7).reason, "text after '=' is not an integer: \"seven\"");
  EXPECT_THAT(Check("99999999999999999999", {1}, 1).reason, HasSubstr("too large"));
  EXPECT_FALSE(Check(std::string(1000, '(') + "1" + std::string(1000, ')'), {1}, 1).correct);
  EXPECT_FALSE(Check(std::string(10000, '1'), {1}, 1).correct);
  // Overflowing products are rejected, not wrapped.
  EXPECT_EQ(
      Check("1000000000*1000000000*1000000000", {1000000000, 1000000000, 1000000000}, 1).reason,
      "value too large");
}

TEST(CountdownReferenceTest, RoundTripsAndRejectsMalformed) {
  std::string ref = FormatCountdownReference({3, 5, 25, 4}, 83);
  EXPECT_EQ(ref, "target=83;numbers=3,5,25,4");
  auto parsed = ParseCountdownReference(ref);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->target, 83);
  EXPECT_EQ(parsed->numbers, (std::vector<int64_t>{3, 5, 25, 4}));
  EXPECT_FALSE(ParseCountdownReference("83").ok());
  EXPECT_FALSE(ParseCountdownReference("target=x;numbers=1").ok());
  EXPECT_FALSE(ParseCountdownReference("target=3;numbers=1,,2").ok());
  EXPECT_TRUE(VerifyCountdownAnswer("(25-5)*4+3", ref).correct);
  EXPECT_FALSE(VerifyCountdownAnswer("(25-5)*4+3", "nonsense").correct);
  EXPECT_EQ(VerifyCountdownAnswer("1", "target=1;numbers=x").reason,
            "countdown reference \"target=1;numbers=x\": number \"x\" is not an integer (expected "
            "\"target=N;numbers=A,B,...\")");
}

TEST(CountdownReferenceTest, RecognisesTheFormat) {
  EXPECT_TRUE(IsCountdownReference("target=83;numbers=3,5,25,4"));
  EXPECT_TRUE(IsCountdownReference("  target=83;numbers=3"));
  EXPECT_TRUE(
      IsCountdownReference("target="));  // the format, if malformed: its parse error says so
  EXPECT_FALSE(IsCountdownReference("83"));
  EXPECT_FALSE(IsCountdownReference("The target=83 is reached. #### 83"));
  EXPECT_FALSE(IsCountdownReference(""));
}

}  // namespace
}  // namespace r1
