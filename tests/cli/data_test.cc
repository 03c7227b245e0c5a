// Runs the built `r1 data synth` / `r1 data check` as a user would: deterministic files, readable
// back, errors naming the option or the file:line.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_r1.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

using RunResult = testing_util::R1Result;

class DataCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_util::ScratchDir("r1_data_cli"); }

  // Runs `r1 data ARGS`.
  RunResult Run(const std::string& args) { return testing_util::RunR1("data " + args); }

  std::string dir_;
};

TEST_F(DataCliTest, SynthArithmeticIsDeterministicAndChecksBack) {
  const std::string a = dir_ + "/a.jsonl", b = dir_ + "/b.jsonl";
  RunResult r = Run("synth --task arithmetic --count 20 --seed 3 --out " + a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("wrote 20 records"));
  ASSERT_EQ(Run("synth --task arithmetic --count 20 --seed 3 --out " + b).exit_code, 0);
  auto text_a = ReadFile(a), text_b = ReadFile(b);
  ASSERT_TRUE(text_a.ok() && text_b.ok());
  EXPECT_EQ(*text_a, *text_b);
  std::vector<nlohmann::json> lines = testing_util::JsonLines(*text_a);
  ASSERT_EQ(lines.size(), 20u);
  EXPECT_EQ(lines[0]["task"], "arithmetic");
  EXPECT_EQ(lines[0]["id"], "arithmetic-3-0");
  EXPECT_THAT(lines[0]["solution"].get<std::string>(), HasSubstr("</think><answer>"));

  r = Run("check " + a + " --format prompt_answer");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("prompt_answer, 20 records"));
}

TEST_F(DataCliTest, SynthToStdoutForEveryTask) {
  for (const std::string task : {"countdown", "simple", "preference", "code"}) {
    RunResult r = Run("synth --task " + task + " --count 5 --seed 1");
    ASSERT_EQ(r.exit_code, 0) << task << ": " << r.err;
    std::vector<nlohmann::json> lines = testing_util::JsonLines(r.out);
    ASSERT_EQ(lines.size(), 5u) << task;
    if (task == "preference") {
      EXPECT_TRUE(lines[0].contains("chosen"));
      EXPECT_TRUE(lines[0].contains("rejected"));
    } else {
      EXPECT_TRUE(lines[0].contains("answer"));
    }
    if (task == "code") {  // the answer holds the tests the code reward reads
      EXPECT_EQ(lines[0]["task"], "code");
      nlohmann::json tests = nlohmann::json::parse(lines[0]["answer"].get<std::string>());
      EXPECT_GE(tests["tests"].size(), 2u) << lines[0].dump();
    }
  }
}

TEST_F(DataCliTest, CheckReportsBadLineOrSkipsIt) {
  const std::string path = dir_ + "/g.jsonl";
  ASSERT_TRUE(WriteFileAtomic(path,
                              "{\"question\":\"q\",\"answer\":\"#### 1,000\"}\n"
                              "{\"question\":\"q\"}\n")
                  .ok());
  RunResult r = Run("check " + path + " --format gsm8k");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(path + ":2: field \"answer\": missing"));
  r = Run("check " + path + " --format gsm8k --skip-bad-lines --show 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"answer\":\"1000\""));
  EXPECT_THAT(r.out, HasSubstr("1 records, 1 bad line skipped"));
}

TEST_F(DataCliTest, ChecksTheRealGsm8kFile) {
  RunResult r = Run(std::string("check ") + R1_TEST_DATA_DIR + "/gsm8k/test.jsonl --format gsm8k");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("gsm8k, 1319 records"));
}

TEST_F(DataCliTest, BadOptionsAreNamed) {
  RunResult r = Run("synth --task poetry");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown task \"poetry\""));
  r = Run("synth --task arithmetic --max-digits 12");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("max_digits = 12"));
  r = Run("synth --task simple --tasks echo,sing");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown simple task \"sing\""));
  r = Run("synth --count 3");
  EXPECT_EQ(r.exit_code, 2);
  r = Run("check --format gsm9k x.jsonl");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown dataset format \"gsm9k\""));
  r = Run("synth --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: r1 data synth"));
}

}  // namespace
}  // namespace r1
