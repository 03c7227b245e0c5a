// `r1 reward --reward code` as a user runs it: JSON lines with a response and its tests in, one
// line out per input with the reward, the counts by outcome and each test's result.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace {

using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `r1 reward ARGS < input` through /bin/sh (posix_spawn; ARGS is shell-quoted by the caller).
RunResult RunReward(const std::string& args, const std::string& input) {
  const std::string dir = r1::testing_util::ScratchDir("r1_reward_code_test");
  EXPECT_TRUE(r1::WriteFileAtomic(dir + "/in.jsonl", input).ok());
  const std::string command = std::string(R1_BINARY_DIR) + "/cli/r1 reward " + args + " < " + dir +
                              "/in.jsonl > " + dir + "/out 2> " + dir + "/err";
  RunResult result;
  absl::StatusOr<r1::Subprocess> sh = r1::Subprocess::Spawn({"/bin/sh", "-c", command});
  EXPECT_TRUE(sh.ok()) << sh.status();
  if (!sh.ok()) return result;
  absl::StatusOr<r1::ExitInfo> exit = sh->Wait(absl::Minutes(2));
  if (!exit.ok()) sh->Terminate(absl::Seconds(2));
  if (exit.ok() && exit->exited) result.exit_code = exit->exit_code;
  result.out = r1::ReadFile(dir + "/out").value_or("");
  result.err = r1::ReadFile(dir + "/err").value_or("");
  return result;
}

std::vector<nlohmann::json> Lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) lines.push_back(nlohmann::json::parse(out.substr(start, end - start)));
    start = end + 1;
  }
  return lines;
}

std::string Line(const std::string& response, const nlohmann::json& tests) {
  return nlohmann::json{{"response", response}, {"tests", tests}}.dump() + "\n";
}

TEST(RewardCodeCliTest, ScoresProgramsAgainstTheirTests) {
  const nlohmann::json tests = nlohmann::json::parse(
      R"([{"input": "2 3\n", "output": "5\n"}, {"input": "4 4\n", "output": "8\n"}])");
  const std::string input =
      Line("```python\na, b = map(int, input().split())\nprint(a + b)\n```", tests) +
      Line("```python\nprint(5)\n```", tests) +
      Line("```python\nwhile True:\n    pass\n```", tests) +
      Line(
          "```python\nimport os\ntry:\n    os.kill(os.getppid(), 9)\nexcept OSError:\n    "
          "pass\nprint(5)\n```",
          tests) +
      Line("no code here", tests) +
      Line("```python\ndef add(a, b):\n    return a + b\n```",
           nlohmann::json{{"test_code", "assert add(1, 2) == 3"}});
  RunResult r = RunReward("--reward code --params code.timeout_s=2,code.uid_base=61400", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;

  EXPECT_DOUBLE_EQ(lines[0]["reward"].get<double>(), 1.0);
  EXPECT_EQ(lines[0]["counts"]["code/passed"], 2);
  EXPECT_EQ(lines[0]["details"]["code"]["language"], "python");
  EXPECT_EQ(lines[0]["details"]["code"]["cases"][1]["outcome"], "passed");

  EXPECT_DOUBLE_EQ(lines[1]["reward"].get<double>(), 0.5);
  EXPECT_EQ(lines[1]["details"]["code"]["cases"][1]["outcome"], "wrong_answer");

  EXPECT_DOUBLE_EQ(lines[2]["reward"].get<double>(), 0.0);
  EXPECT_EQ(lines[2]["counts"]["code/timeout"], 2);

  // Killing its parent reaches neither r1 (all six lines came back) nor the answer.
  EXPECT_DOUBLE_EQ(lines[3]["reward"].get<double>(), 0.5);

  EXPECT_DOUBLE_EQ(lines[4]["reward"].get<double>(), 0.0);
  EXPECT_EQ(lines[4]["counts"]["code/no_code"], 1);

  EXPECT_DOUBLE_EQ(lines[5]["reward"].get<double>(), 1.0);
}

TEST(RewardCodeCliTest, AllOrNothingMode) {
  const nlohmann::json tests =
      nlohmann::json::parse(R"([{"input": "", "output": "1\n"}, {"input": "", "output": "2\n"}])");
  RunResult r = RunReward("--reward code --params code.mode=all,code.uid_base=61410",
                          Line("```py\nprint(1)\n```", tests));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_DOUBLE_EQ(lines[0]["reward"].get<double>(), 0.0);
  EXPECT_EQ(lines[0]["counts"]["code/passed"], 1);
}

TEST(RewardCodeCliTest, BadInputsNameTheProblem) {
  RunResult no_tests = RunReward("--reward code", R"({"response": "```py\nprint(1)\n```"})"
                                                  "\n");
  EXPECT_EQ(no_tests.exit_code, 1);
  EXPECT_THAT(no_tests.err, HasSubstr("line 1"));
  EXPECT_THAT(no_tests.err, HasSubstr("code tests"));

  RunResult both = RunReward("--reward code", R"({"response": "x", "reference": "[]", "tests": []})"
                                              "\n");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_THAT(both.err, HasSubstr("not both"));

  RunResult bad_param = RunReward("--reward code --params code.mode=most", "");
  EXPECT_EQ(bad_param.exit_code, 2);
  EXPECT_THAT(bad_param.err, HasSubstr("\"mode\""));
}

}  // namespace
