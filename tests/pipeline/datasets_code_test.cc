// The "code" dataset format: prompts with tests in the shapes of common code-RL datasets (plain
// tests, APPS / TACO input_output, assert programs, MBPP test_list) become examples whose
// reference is the tests' JSON for the code reward.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/datasets.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

std::string WriteLines(const std::vector<std::string>& lines) {
  const std::string path = testing_util::ScratchDir("datasets_code") + "/data.jsonl";
  std::ofstream out(path);
  for (const std::string& line : lines) out << line << "\n";
  return path;
}

TEST(CodeDatasetTest, ReadsEveryAcceptedShape) {
  const std::string path = WriteLines({
      R"({"prompt": "add", "tests": [{"input": "1 2\n", "output": "3\n"}], "solution": "s"})",
      R"({"question": "apps", "input_output": "{\"inputs\": [\"1\\n\"], \"outputs\": [\"2\\n\"]}"})",
      R"({"prompt": "asserts", "test_code": "assert f() == 1"})",
      R"({"prompt": "mbpp", "test_list": ["assert f(1) == 2", "assert f(2) == 3"]})",
      R"({"prompt": "string", "tests": "[{\"input\": \"\", \"output\": \"x\"}]", "id": 7})",
  });
  absl::StatusOr<std::vector<Example>> examples = ReadExamples(path, DatasetFormat::kCode);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 5u);
  auto ref = [&](size_t i) { return nlohmann::json::parse((*examples)[i].reference); };

  EXPECT_EQ((*examples)[0].prompt, "add");
  EXPECT_EQ((*examples)[0].task, "code");
  EXPECT_EQ((*examples)[0].solution, "s");
  EXPECT_EQ(ref(0)["tests"][0]["output"], "3\n");

  EXPECT_EQ((*examples)[1].prompt, "apps");
  EXPECT_EQ(nlohmann::json::parse(ref(1)["input_output"].get<std::string>())["outputs"][0], "2\n");

  EXPECT_EQ(ref(2)["test_code"], nlohmann::json::array({"assert f() == 1"}));
  EXPECT_EQ(ref(3)["test_code"].size(), 2u);
  EXPECT_EQ(ref(4)["tests"][0]["output"], "x");
  EXPECT_EQ((*examples)[4].id, "7");
}

TEST(CodeDatasetTest, BadRecordsNameTheField) {
  auto error = [](const std::string& line) {
    return std::string(ReadExamples(WriteLines({line}), DatasetFormat::kCode).status().message());
  };
  EXPECT_THAT(error(R"({"prompt": "p"})"), HasSubstr("field \"tests\": missing"));
  EXPECT_THAT(error(R"({"tests": []})"), HasSubstr("field \"prompt\""));
  EXPECT_THAT(error(R"({"prompt": "p", "tests": 3})"), HasSubstr("field \"tests\""));
  EXPECT_THAT(error(R"({"prompt": "p", "input_output": "not json"})"),
              HasSubstr("field \"input_output\""));
  EXPECT_THAT(
      error(
          R"({"prompt": "p", "input_output": "{\"inputs\": [], \"outputs\": [], \"fn_name\": \"f\"}"})"),
      HasSubstr("fn_name"));
  EXPECT_THAT(error(R"({"prompt": "p", "test_list": [1]})"), HasSubstr("field \"test_list\""));
}

TEST(CodeDatasetTest, CallBasedRecordsAreSkippedWithSkipBadLines) {
  const std::string path = WriteLines({
      R"({"question": "a", "input_output": "{\"inputs\": [[1]], \"outputs\": [2], \"fn_name\": \"f\"}"})",
      R"({"question": "b", "input_output": "{\"inputs\": [\"1\\n\"], \"outputs\": [\"1\\n\"]}"})",
  });
  DatasetOptions options;
  options.jsonl.skip_bad_lines = true;
  absl::StatusOr<std::vector<Example>> examples = ReadExamples(path, DatasetFormat::kCode, options);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 1u);
  EXPECT_EQ((*examples)[0].prompt, "b");
}

TEST(CodeDatasetTest, ConfiguredFieldsWin) {
  DatasetOptions options;
  options.fields.prompt = "problem";
  options.fields.answer = "cases";
  const std::string path =
      WriteLines({R"({"problem": "p", "cases": {"inputs": ["1"], "outputs": ["1"]}})"});
  absl::StatusOr<std::vector<Example>> examples = ReadExamples(path, DatasetFormat::kCode, options);
  ASSERT_TRUE(examples.ok()) << examples.status();
  EXPECT_EQ(nlohmann::json::parse((*examples)[0].reference)["inputs"][0], "1");
  EXPECT_EQ(*ParseDatasetFormat("code"), DatasetFormat::kCode);
  EXPECT_EQ(DatasetFormatName(DatasetFormat::kCode), "code");
}

}  // namespace
}  // namespace r1
