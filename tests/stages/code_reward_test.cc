// The code reward: test formats, code-block extraction, output comparison, and grading real
// programs in the sandbox (Python 3 at /usr/bin/python3; C++ where g++ exists).
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/datasets.h"
#include "stages/rewards/code.h"
#include "stages/rewards/reward.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(ParseCodeTestsTest, AcceptsTheDocumentedShapes) {
  absl::StatusOr<CodeTests> a = ParseCodeTests(R"([{"input": "1\n", "output": "2\n"}])");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->cases.size(), 1u);
  EXPECT_EQ(a->cases[0].input, "1\n");
  EXPECT_EQ(a->cases[0].output, "2\n");

  absl::StatusOr<CodeTests> b = ParseCodeTests(
      R"({"tests": [{"input": "", "output": "x"}], "test_code": ["assert f(1) == 2", "assert 1"]})");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->cases.size(), 1u);
  EXPECT_EQ(b->test_programs.size(), 2u);
  EXPECT_EQ(b->size(), 3u);

  absl::StatusOr<CodeTests> apps =
      ParseCodeTests(R"({"inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", ["7", "x"]]})");
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_EQ(apps->cases.size(), 2u);
  EXPECT_EQ(apps->cases[1].output, "7\nx\n");

  absl::StatusOr<CodeTests> io =
      ParseCodeTests(R"({"input_output": "{\"inputs\": [\"5\\n\"], \"outputs\": [\"25\\n\"]}"})");
  ASSERT_TRUE(io.ok()) << io.status();
  ASSERT_EQ(io->cases.size(), 1u);
  EXPECT_EQ(io->cases[0].input, "5\n");
}

TEST(ParseCodeTestsTest, RejectsWhatItCannotRun) {
  EXPECT_THAT(Message(ParseCodeTests("42 #### 7").status()), HasSubstr("not JSON"));
  EXPECT_THAT(Message(ParseCodeTests("[]").status()), HasSubstr("no tests"));
  EXPECT_THAT(Message(ParseCodeTests(R"({"other": 1})").status()), HasSubstr("no tests"));
  EXPECT_THAT(Message(ParseCodeTests(R"([{"input": 1, "output": "x"}])").status()),
              HasSubstr("test 0 must be"));
  EXPECT_THAT(Message(ParseCodeTests(R"({"inputs": ["1"], "outputs": []})").status()),
              HasSubstr("same length"));
  EXPECT_THAT(
      Message(ParseCodeTests(R"({"inputs": [[1]], "outputs": [[2]], "fn_name": "f"})").status()),
      HasSubstr("fn_name"));
  EXPECT_THAT(Message(ParseCodeTests(R"({"test_code": 3})").status()), HasSubstr("test_code"));
  EXPECT_THAT(Message(ParseCodeTests("\"text\"").status()), HasSubstr("array or object"));
}

TEST(ExtractLastCodeBlockTest, TakesTheLastClosedBlockOfTheAnswer) {
  const std::string response =
      "<think>\n```python\nprint('thinking')\n```\n</think>\n"
      "First try:\n```py\nprint(1)\n```\nBetter:\n```python\nprint(2)\n```\n"
      "```python\nprint('unclosed')\n";
  std::optional<CodeBlock> block = ExtractLastCodeBlock(response, CodeLanguage::kPython);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->code, "print(2)\n");
  EXPECT_EQ(block->tag, "python");
  EXPECT_EQ(block->language, CodeLanguage::kPython);

  std::optional<CodeBlock> cpp =
      ExtractLastCodeBlock("```C++\nint main() {}\n```", CodeLanguage::kPython);
  ASSERT_TRUE(cpp.has_value());
  EXPECT_EQ(cpp->language, CodeLanguage::kCpp);

  std::optional<CodeBlock> untagged = ExtractLastCodeBlock("```\nx\n```", CodeLanguage::kCpp);
  ASSERT_TRUE(untagged.has_value());
  EXPECT_EQ(untagged->language, CodeLanguage::kCpp);

  std::optional<CodeBlock> java =
      ExtractLastCodeBlock("```java\nclass A {}\n```", CodeLanguage::kPython);
  ASSERT_TRUE(java.has_value());
  EXPECT_FALSE(java->language.has_value());

  // Fences inside a line, inline code, an indented closing fence.
  std::optional<CodeBlock> inline_fences = ExtractLastCodeBlock(
      "<answer>```python\nprint(3)```</answer> and `x` and ```y```", CodeLanguage::kCpp);
  ASSERT_TRUE(inline_fences.has_value());
  EXPECT_EQ(inline_fences->code, "print(3)\n");
  EXPECT_EQ(inline_fences->language, CodeLanguage::kPython);
  std::optional<CodeBlock> indented =
      ExtractLastCodeBlock("1. code:\n   ```py\n   x = 1\n   ```\n", CodeLanguage::kCpp);
  ASSERT_TRUE(indented.has_value());
  EXPECT_EQ(indented->code, "   x = 1\n");

  // Code only inside the thinking does not count.
  EXPECT_FALSE(
      ExtractLastCodeBlock("<think>```python\nx\n```</think> no code", CodeLanguage::kPython));
  EXPECT_FALSE(ExtractLastCodeBlock("no code at all", CodeLanguage::kPython));
}

TEST(OutputsMatchTest, IgnoresTrailingWhitespaceOnly) {
  EXPECT_TRUE(OutputsMatch("1 2 \n3\n\n\n", "1 2\n3"));
  EXPECT_TRUE(OutputsMatch("a\r\nb\r\n", "a\nb\n"));
  EXPECT_TRUE(OutputsMatch("", "\n"));
  EXPECT_FALSE(OutputsMatch(" 1", "1"));  // leading whitespace counts
  EXPECT_FALSE(OutputsMatch("1\n\n2", "1\n2"));
  EXPECT_FALSE(OutputsMatch("12", "1 2"));
}

// What the "code" dataset format (pipeline/datasets.h) puts in a reference, this reward reads.
TEST(ParseCodeTestsTest, ReadsTheCodeDatasetFormatsReferences) {
  const std::string path = testing_util::ScratchDir("code_reward_data") + "/apps.jsonl";
  {
    std::ofstream out(path);
    out << R"({"question": "q", "input_output": "{\"inputs\": [\"1\\n\"], \"outputs\": [\"2\\n\"]}", "test_code": "assert True"})"
        << "\n";
  }
  absl::StatusOr<std::vector<Example>> examples = ReadExamples(path, DatasetFormat::kCode);
  ASSERT_TRUE(examples.ok()) << examples.status();
  absl::StatusOr<CodeTests> tests = ParseCodeTests((*examples)[0].reference);
  ASSERT_TRUE(tests.ok()) << tests.status();
  ASSERT_EQ(tests->cases.size(), 1u);
  EXPECT_EQ(tests->cases[0].input, "1\n");
  EXPECT_EQ(tests->cases[0].output, "2\n");
  EXPECT_EQ(tests->test_programs, std::vector<std::string>{"assert True"});
}

TEST(CodeRewardParamsTest, BadParamsAreErrorsNamingTheKey) {
  EXPECT_THAT(Message(MakeCodeReward({{"timeout", 1}}).status()), HasSubstr("unknown param"));
  EXPECT_THAT(Message(MakeCodeReward({{"mode", "some"}}).status()), HasSubstr("\"mode\""));
  EXPECT_THAT(Message(MakeCodeReward({{"language", "java"}}).status()), HasSubstr("\"language\""));
  EXPECT_THAT(Message(MakeCodeReward({{"max_parallel", 0}}).status()), HasSubstr("max_parallel"));
  EXPECT_THAT(Message(MakeCodeReward({{"timeout_s", -1}}).status()), HasSubstr("timeout_s"));
  EXPECT_THAT(Message(MakeCodeReward({{"memory_mb", 1}}).status()), HasSubstr("memory_mb"));
  EXPECT_THAT(Message(MakeCodeReward({{"python", "/nonexistent/python3"}}).status()),
              HasSubstr("/nonexistent/python3"));
}

// One grader for the suite (creating one probes the sandbox).
class CodeGraderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("R1_SANDBOX_EXEC", R1_BINARY_DIR "/cli/r1-sandbox-exec", 1);
    if (access("/usr/bin/python3", X_OK) != 0) return;
    CodeRewardOptions options;
    options.timeout_s = 2;
    options.memory_mb = 256;
    options.max_output_bytes = 64 << 10;
    options.max_processes = 16;
    options.max_parallel = 3;
    options.uid_base = 61200;  // apart from the other sandbox tests' uids (ctest -j)
    absl::StatusOr<std::unique_ptr<CodeGrader>> grader = CodeGrader::Create(options);
    ASSERT_TRUE(grader.ok()) << grader.status();
    grader_ = grader->release();
  }
  static void TearDownTestSuite() {
    delete grader_;
    grader_ = nullptr;
  }
  void SetUp() override {
    if (grader_ == nullptr) GTEST_SKIP() << "/usr/bin/python3 is not installed";
  }

  static CodeGrade Grade(const std::string& code, const std::string& tests_json,
                         const std::string& tag = "python") {
    absl::StatusOr<CodeTests> tests = ParseCodeTests(tests_json);
    EXPECT_TRUE(tests.ok()) << tests.status();
    absl::StatusOr<CodeGrade> grade =
        grader_->Grade(absl::StrCat("Here it is:\n```", tag, "\n", code, "```\n"), *tests);
    EXPECT_TRUE(grade.ok()) << grade.status();
    return grade.ok() ? *grade : CodeGrade{};
  }
  static int64_t Count(const CodeGrade& g, CaseOutcome o) { return g.counts[static_cast<int>(o)]; }

  static CodeGrader* grader_;
};
CodeGrader* CodeGraderTest::grader_ = nullptr;

constexpr char kSumTests[] =
    R"([{"input": "1 2\n", "output": "3\n"}, {"input": "10 -4\n", "output": "6"}])";

TEST_F(CodeGraderTest, CorrectProgramPassesEveryTest) {
  CodeGrade g = Grade("a, b = map(int, input().split())\nprint(a + b)\n", kSumTests);
  EXPECT_DOUBLE_EQ(g.value, 1.0);
  EXPECT_EQ(Count(g, CaseOutcome::kPassed), 2);
  ASSERT_EQ(g.cases.size(), 2u);
  EXPECT_TRUE(g.cases[0].detail.empty());
}

TEST_F(CodeGraderTest, WrongAnswerOnOneTestGivesTheFraction) {
  CodeGrade g = Grade("a, b = map(int, input().split())\nprint(3)\n", kSumTests);
  EXPECT_DOUBLE_EQ(g.value, 0.5);
  ASSERT_EQ(g.cases.size(), 2u);
  EXPECT_EQ(g.cases[0].outcome, CaseOutcome::kPassed);
  EXPECT_EQ(g.cases[1].outcome, CaseOutcome::kWrongAnswer);
  EXPECT_THAT(g.cases[1].detail, HasSubstr("got \"3\n\""));
}

TEST_F(CodeGraderTest, RuntimeErrorIsReportedWithTheException) {
  CodeGrade g = Grade("raise ValueError('bad input')\n", kSumTests);
  EXPECT_DOUBLE_EQ(g.value, 0.0);
  EXPECT_EQ(Count(g, CaseOutcome::kRuntimeError), 2);
  EXPECT_THAT(g.cases[0].detail, HasSubstr("ValueError: bad input"));
}

TEST_F(CodeGraderTest, SyntaxErrorIsACompileErrorAndRunsNothing) {
  CodeGrade g = Grade("def f(:\n    pass\n", kSumTests);
  EXPECT_DOUBLE_EQ(g.value, 0.0);
  EXPECT_EQ(Count(g, CaseOutcome::kCompileError), 2);
  EXPECT_THAT(g.compile_error, HasSubstr("SyntaxError"));
}

TEST_F(CodeGraderTest, CpuLoopAndSleepAreTimeouts) {
  CodeGrade cpu = Grade("while True:\n    pass\n", R"([{"input": "", "output": ""}])");
  EXPECT_EQ(Count(cpu, CaseOutcome::kTimeout), 1);
  CodeGrade sleep = Grade("import time\ntime.sleep(30)\n", R"([{"input": "", "output": ""}])");
  EXPECT_EQ(Count(sleep, CaseOutcome::kTimeout), 1);
  EXPECT_LT(sleep.cases[0].seconds, 4.0);
}

TEST_F(CodeGraderTest, HostileProgramsAreContainedFailures) {
  const std::string one = R"([{"input": "", "output": "done"}])";
  // 1 GB allocation: MemoryError under the address-space limit.
  CodeGrade memory = Grade("x = bytearray(1 << 30)\nprint('done')\n", one);
  EXPECT_EQ(Count(memory, CaseOutcome::kRuntimeError), 1);
  EXPECT_THAT(memory.cases[0].detail, HasSubstr("MemoryError"));
  // Endless output: killed at the cap.
  CodeGrade flood = Grade("while True:\n    print('y' * 100)\n", one);
  EXPECT_EQ(Count(flood, CaseOutcome::kRuntimeError), 1);
  EXPECT_THAT(flood.cases[0].detail, HasSubstr("output limit"));
  // Fork bomb: bounded by the process limit and the timeout.
  CodeGrade bomb = Grade(
      "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
      one);
  EXPECT_EQ(Count(bomb, CaseOutcome::kPassed), 0);
  // Network: no connection from inside.
  CodeGrade net = Grade(
      "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 1), timeout=1)\n"
      "except OSError:\n    print('done')\n",
      one);
  EXPECT_EQ(Count(net, CaseOutcome::kPassed), 1);
  // The grader still works.
  EXPECT_DOUBLE_EQ(Grade("print('done')\n", one).value, 1.0);
}

TEST_F(CodeGraderTest, AssertStyleTestsAppendedToTheSolution) {
  const std::string tests =
      R"({"test_code": ["assert add(2, 3) == 5", "assert add(-1, 1) == 0", "assert add(1, 1) == 3"]})";
  CodeGrade g = Grade("def add(a, b):\n    return a + b\n", tests);
  EXPECT_NEAR(g.value, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(Count(g, CaseOutcome::kPassed), 2);
  EXPECT_EQ(Count(g, CaseOutcome::kWrongAnswer), 1);  // the AssertionError
  CodeGrade missing = Grade("def plus(a, b):\n    return a + b\n", tests);
  EXPECT_EQ(Count(missing, CaseOutcome::kRuntimeError), 3);  // NameError: add
}

TEST_F(CodeGraderTest, NoCodeBlockScoresZeroAndRunsNothing) {
  absl::StatusOr<CodeTests> tests = ParseCodeTests(kSumTests);
  ASSERT_TRUE(tests.ok());
  absl::StatusOr<CodeGrade> g = grader_->Grade("The answer is print(3).", *tests);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(g->block.has_value());
  EXPECT_DOUBLE_EQ(g->value, 0.0);
  EXPECT_TRUE(g->cases.empty());
}

TEST_F(CodeGraderTest, UnsupportedLanguageIsACompileError) {
  CodeGrade g = Grade("class A {}\n", kSumTests, "java");
  EXPECT_EQ(Count(g, CaseOutcome::kCompileError), 2);
  EXPECT_THAT(g.compile_error, HasSubstr("java"));
}

TEST_F(CodeGraderTest, CppSolutionsAreCompiledAndRun) {
  if (access("/usr/bin/g++", X_OK) != 0) GTEST_SKIP() << "no g++";
  CodeGrade g = Grade(
      "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << "
      "\"\\n\"; }\n",
      kSumTests, "cpp");
  EXPECT_DOUBLE_EQ(g.value, 1.0) << g.compile_error;
  CodeGrade broken = Grade("int main() { return x; }\n", kSumTests, "cpp");
  EXPECT_EQ(Count(broken, CaseOutcome::kCompileError), 2);
  EXPECT_THAT(broken.compile_error, HasSubstr("x"));
  CodeGrade crash = Grade("int main() { int* p = nullptr; return *p; }\n",
                          R"([{"input": "", "output": ""}])", "cpp");
  EXPECT_EQ(Count(crash, CaseOutcome::kRuntimeError), 1);
}

TEST_F(CodeGraderTest, RewardThroughTheRegistryReportsCountsAndDetails) {
  auto composite = CompositeReward::Create(
      {RewardSpec{"code",
                  2.0,
                  {{"mode", "all"}, {"timeout_s", 2}, {"memory_mb", 256}, {"uid_base", 61210}}}},
      BuiltinRewardRegistry());
  ASSERT_TRUE(composite.ok()) << composite.status();
  RewardInput input;
  input.response = "```python\nprint(sum(map(int, input().split())))\n```";
  input.reference = kSumTests;
  absl::StatusOr<RewardBreakdown> b = composite->Compute(input);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_DOUBLE_EQ(b->total, 2.0);
  EXPECT_EQ(b->extracted, "print(sum(map(int, input().split())))\n");
  std::map<std::string, double> counts(b->counts.begin(), b->counts.end());
  EXPECT_EQ(counts["code/passed"], 2);
  EXPECT_EQ(counts["code/tests"], 2);
  EXPECT_EQ(counts["code/timeout"], 0);
  EXPECT_EQ(b->details["code"]["cases"].size(), 2u);
  EXPECT_EQ(b->details["code"]["cases"][0]["outcome"], "passed");

  // all-or-nothing: one failing test gives 0.
  input.response = "```python\nprint(3)\n```";
  b = composite->Compute(input);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_DOUBLE_EQ(b->total, 0.0);

  // A reference that is not tests is an error naming the problem.
  input.reference = "42";
  EXPECT_THAT(Message(composite->Compute(input).status()), HasSubstr("code tests"));
}

}  // namespace
}  // namespace r1
