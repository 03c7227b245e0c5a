// The synthetic code tasks: deterministic for a seed, every example has 2..4 stdin/stdout tests in
// the code reward's reference form and an R1-format answer holding one fenced Python block; a
// `code` synthetic dataset loads through the config. (That the solutions pass their tests in the
// sandbox is tests/stages/synthetic_code_solutions_test.cc.)
#include "pipeline/synthetic_code.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pipeline/config.h"
#include "pipeline/dataset_loader.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(SyntheticCodeTest, DeterministicAndPrefixStable) {
  CodeTaskOptions o;
  auto a = GenerateCodeTasks(o, 7, 40);
  auto b = GenerateCodeTasks(o, 7, 40);
  auto prefix = GenerateCodeTasks(o, 7, 10);
  auto other = GenerateCodeTasks(o, 8, 40);
  ASSERT_TRUE(a.ok() && b.ok() && prefix.ok() && other.ok());
  ASSERT_EQ(a->size(), 40u);
  int differ = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].prompt, (*b)[i].prompt);
    EXPECT_EQ((*a)[i].reference, (*b)[i].reference);
    EXPECT_EQ((*a)[i].solution, (*b)[i].solution);
    if (i < prefix->size()) EXPECT_EQ((*a)[i].reference, (*prefix)[i].reference);
    if ((*a)[i].reference != (*other)[i].reference) ++differ;
  }
  EXPECT_GT(differ, 30);
  EXPECT_EQ((*a)[3].id, "code-7-3");
}

TEST(SyntheticCodeTest, ExamplesHaveTestsAndAPythonAnswer) {
  CodeTaskOptions o;
  auto examples = GenerateCodeTasks(o, 1, 200);
  ASSERT_TRUE(examples.ok()) << examples.status();
  std::set<std::string> first_lines;
  for (const Example& ex : *examples) {
    EXPECT_EQ(ex.task, "code");
    EXPECT_THAT(ex.prompt, StartsWith("Read "));
    nlohmann::json ref = nlohmann::json::parse(ex.reference);
    ASSERT_TRUE(ref["tests"].is_array()) << ex.reference;
    EXPECT_GE(ref["tests"].size(), 2u);
    EXPECT_LE(ref["tests"].size(), 4u);
    for (const auto& t : ref["tests"]) {
      EXPECT_TRUE(t["input"].is_string());
      EXPECT_TRUE(t["output"].is_string());
    }
    EXPECT_THAT(ex.solution, StartsWith("<think>"));
    EXPECT_THAT(ex.solution, HasSubstr("</think><answer>```python\n"));
    EXPECT_THAT(ex.solution, testing::EndsWith("\n```</answer>"));
    EXPECT_LT(ex.solution.size(), 160u) << ex.solution;  // short enough for a tiny model
    const size_t code = ex.solution.find("```python\n") + 10;
    first_lines.insert(ex.solution.substr(code, ex.solution.find('\n', code) - code));
  }
  // Every template appears (their first lines: a, b / n / s / xs).
  EXPECT_EQ(first_lines.size(), 4u);
}

TEST(SyntheticCodeTest, KnownAnswersOfOneTemplate) {
  CodeTaskOptions o;
  o.tasks = {"reverse"};
  auto examples = GenerateCodeTasks(o, 3, 5);
  ASSERT_TRUE(examples.ok());
  for (const Example& ex : *examples) {
    EXPECT_EQ(ex.prompt, "Read a word and print it reversed.");
    for (const auto& t : nlohmann::json::parse(ex.reference)["tests"]) {
      std::string in = t["input"], out = t["output"];
      in.pop_back();
      out.pop_back();
      EXPECT_EQ(std::string(in.rbegin(), in.rend()), out);
    }
  }
}

TEST(SyntheticCodeTest, BadOptionsNameTheOption) {
  CodeTaskOptions o;
  o.tasks = {"sort"};
  EXPECT_THAT(std::string(GenerateCodeTasks(o, 1, 1).status().message()),
              HasSubstr("unknown task \"sort\""));
  o = CodeTaskOptions{};
  o.max_tests = 9;
  EXPECT_THAT(std::string(ValidateCodeTaskOptions(o).message()), HasSubstr("max_tests"));
  o = CodeTaskOptions{};
  o.max_value = 0;
  EXPECT_THAT(std::string(ValidateCodeTaskOptions(o).message()), HasSubstr("max_value"));
}

TEST(SyntheticCodeTest, LoadsAsASyntheticDataset) {
  auto config = ParseConfig(R"(run: {name: t}
model: {path: /m}
datasets:
  code: {synthetic: {kind: code, count: 6, seed: 2, options: {tasks: [linear], max_tests: 2}}}
stages:
  - {name: e, type: eval, inputs: {model: base, datasets: [code]}}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->datasets[0].format, "code");
  auto loaded = LoadDataset(config->datasets[0]);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->examples.size(), 6u);
  EXPECT_EQ(nlohmann::json::parse(loaded->examples[0].reference)["tests"].size(), 2u);

  auto bad = ParseConfig(R"(run: {name: t}
model: {path: /m}
datasets:
  code: {synthetic: {kind: code, count: 6, options: {shuffle: true}}}
stages:
  - {name: e, type: eval, inputs: {model: base, datasets: [code]}}
)");
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_THAT(std::string(LoadDataset(bad->datasets[0]).status().message()),
              HasSubstr("options.shuffle: unknown option"));
}

}  // namespace
}  // namespace r1
