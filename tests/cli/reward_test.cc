// `r1 reward` as a user runs it: JSON lines in, one scored JSON line out per input; errors name
// the input line or list the known rewards.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_r1.h"
#include "tests/test_util.h"

namespace {

using ::testing::HasSubstr;

using RunResult = r1::testing_util::R1Result;

// Runs `r1 reward ARGS` with `input` on stdin (ARGS is shell-quoted by the caller).
RunResult RunReward(const std::string& args, const std::string& input) {
  r1::testing_util::R1Options options;
  options.stdin_text = input;
  return r1::testing_util::RunR1("reward " + args, options);
}

TEST(RewardCliTest, ScoresEachLine) {
  const std::string input =
      R"({"response": "<think>9 times 2</think><answer>$18</answer>", "reference": "9*2=18\n#### 18"})"
      "\n\n"
      R"({"response": "I guess \\boxed{17}", "reference": "18"})"
      "\n";
  RunResult r = RunReward("--reward accuracy,format --weights 1,0.5", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> lines = r1::testing_util::JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_DOUBLE_EQ(lines[0]["reward"].get<double>(), 1.5);
  EXPECT_EQ(lines[0]["parts"]["accuracy"].get<double>(), 1.0);
  EXPECT_EQ(lines[0]["parts"]["format"].get<double>(), 1.0);
  EXPECT_EQ(lines[0]["extracted"], "$18");
  EXPECT_DOUBLE_EQ(lines[1]["reward"].get<double>(), 0.0);
  EXPECT_EQ(lines[1]["extracted"], "17");
}

TEST(RewardCliTest, LanguageAndOverlongParams) {
  const std::string input =
      R"({"response": "<think>one two 三</think>", "response_length_tokens": 90})"
      "\n";
  RunResult r = RunReward(
      "--reward language,overlong --target-language latin "
      "--params overlong.max_length=100,overlong.cache_length=20",
      input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> lines = r1::testing_util::JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_DOUBLE_EQ(lines[0]["parts"]["language"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(lines[0]["parts"]["overlong"].get<double>(), -0.5);
  EXPECT_DOUBLE_EQ(lines[0]["reward"].get<double>(), 2.0 / 3.0 - 0.5);
}

TEST(RewardCliTest, BrokenJsonLineNamesTheLine) {
  const std::string input = R"({"response": "5", "reference": "5"})"
                            "\n"
                            R"({"response": "5", "reference": )"
                            "\n";
  RunResult r = RunReward("--reward accuracy", input);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  // The good first line was still written.
  EXPECT_EQ(r1::testing_util::JsonLines(r.out).size(), 1u);
}

TEST(RewardCliTest, MissingResponseNamesTheLine) {
  RunResult r = RunReward("--reward format", "{\"reference\": \"5\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("line 1"));
  EXPECT_THAT(r.err, HasSubstr("response"));
}

TEST(RewardCliTest, UnknownRewardListsKnownNames) {
  RunResult r = RunReward("--reward accuracy,speed", "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("\"speed\""));
  EXPECT_THAT(r.err, HasSubstr("accuracy, code, format, language, overlong"));
}

TEST(RewardCliTest, UsageErrors) {
  EXPECT_EQ(RunReward("", "").exit_code, 2);
  EXPECT_EQ(RunReward("--reward accuracy --weights 1,2", "").exit_code, 2);
  RunResult bad_param = RunReward("--reward format --params format.bogus=1", "");
  EXPECT_EQ(bad_param.exit_code, 2);
  EXPECT_THAT(bad_param.err, HasSubstr("bogus"));
  RunResult help = RunReward("--help", "");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("usage: r1 reward"));
}

}  // namespace
