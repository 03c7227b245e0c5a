// Prompt templates in the config: `template:` on a dataset and on a stage (names or a custom text
// with {prompt}), which one a stage uses (StageTemplate), errors naming the key path, the
// resolved YAML round trip, and the grpo overlong_filter switch.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"
#include "pipeline/templates.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

TEST(TemplateSpecTest, NamesAndCustomTexts) {
  for (const std::string& name : PromptTemplateNames()) {
    auto t = PromptTemplate::FromSpec(name);
    ASSERT_TRUE(t.ok()) << name << ": " << t.status();
    EXPECT_EQ(t->name(), name);
    EXPECT_EQ(t->RenderPrompt("x"), PromptTemplate::ByName(name)->RenderPrompt("x"));
  }
  auto custom = PromptTemplate::FromSpec("Question: {prompt}\nAnswer: <think>");
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ(custom->name(), "custom");
  EXPECT_EQ(custom->RenderPrompt("2+3"), "Question: 2+3\nAnswer: <think>");
  // The chat invariant of every template holds for custom ones too.
  auto full = custom->RenderChat({{"user", "1+1"}, {"assistant", "2"}}, false);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, custom->RenderPrompt("1+1") + "2" + custom->response_suffix());
  // A rendered template around "{prompt}" is a custom spec that renders the same prompts.
  for (const std::string& name : PromptTemplateNames()) {
    const PromptTemplate t = *PromptTemplate::FromSpec(name);
    auto again = PromptTemplate::FromSpec(t.RenderPrompt("{prompt}"));
    ASSERT_TRUE(again.ok()) << name;
    EXPECT_EQ(again->RenderPrompt("7-4"), t.RenderPrompt("7-4")) << name;
  }
}

TEST(TemplateSpecTest, RejectsTextWithoutOrWithTwoPromptSlots) {
  auto none = PromptTemplate::FromSpec("r1-zero");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("{prompt}"));
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("r1_zero"));
  auto twice = PromptTemplate::FromSpec("{prompt} and {prompt}");
  EXPECT_THAT(std::string(twice.status().message()), HasSubstr("exactly once"));
}

// A config with datasets a and b (each with `a_extra` / `b_extra` appended to its mapping) and
// one eval stage reading `inputs` with `stage_extra` lines.
std::string Yaml(const std::string& a_extra, const std::string& b_extra, const std::string& inputs,
                 const std::string& stage_extra) {
  return "run: {name: t}\nmodel: {path: /m}\ndatasets:\n"
         "  a: {synthetic: {kind: arithmetic, count: 4}" +
         a_extra + "}\n  b: {synthetic: {kind: arithmetic, count: 4}" + b_extra +
         "}\nstages:\n  - name: e\n    type: eval\n    inputs: {datasets: [" + inputs + "]}\n" +
         stage_extra;
}

TEST(ConfigTemplateTest, DefaultIsPlainAndNothingIsWritten) {
  auto c = ParseConfig(Yaml("", "", "a", ""));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(StageTemplate(*c, c->stages[0]), "plain");
  EXPECT_EQ(ConfigToYaml(*c).find("template"), std::string::npos);
  EXPECT_FALSE(c->stages[0].grpo.overlong_filter);
}

TEST(ConfigTemplateTest, StageOverridesDatasets) {
  auto from_dataset = ParseConfig(Yaml(", template: r1_zero", "", "a, b", ""));
  ASSERT_TRUE(from_dataset.ok()) << from_dataset.status();
  EXPECT_EQ(StageTemplate(*from_dataset, from_dataset->stages[0]), "r1_zero");

  auto from_stage = ParseConfig(Yaml(", template: r1_zero", "", "a", "    template: chatml\n"));
  ASSERT_TRUE(from_stage.ok()) << from_stage.status();
  EXPECT_EQ(StageTemplate(*from_stage, from_stage->stages[0]), "chatml");
}

TEST(ConfigTemplateTest, CustomTemplateRoundTripsThroughTheResolvedYaml) {
  auto c = ParseConfig(
      Yaml(", template: \"Q: {prompt}\\nA:\"", "", "a", "    template: \"<s>{prompt}</s>\\n\"\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->FindDataset("a")->prompt_template, "Q: {prompt}\nA:");
  EXPECT_EQ(c->stages[0].prompt_template, "<s>{prompt}</s>\n");
  auto again = ParseConfig(ConfigToYaml(*c));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->FindDataset("a")->prompt_template, "Q: {prompt}\nA:");
  EXPECT_EQ(again->stages[0].prompt_template, "<s>{prompt}</s>\n");
}

TEST(ConfigTemplateTest, ErrorsNameTheKeyPath) {
  auto bad_dataset = ParseConfig(Yaml(", template: \"Q: {question}\"", "", "a", ""));
  ASSERT_FALSE(bad_dataset.ok());
  EXPECT_THAT(std::string(bad_dataset.status().message()),
              HasSubstr("datasets.a.template: unknown template \"Q: {question}\""));
  auto bad_stage = ParseConfig(Yaml("", "", "a", "    template: r1-zero\n"));
  ASSERT_FALSE(bad_stage.ok());
  EXPECT_THAT(std::string(bad_stage.status().message()),
              HasSubstr("stages[0].template: unknown template \"r1-zero\""));
  EXPECT_THAT(std::string(bad_stage.status().message()), HasSubstr("{prompt}"));
  // Input datasets that disagree need the stage to choose.
  auto conflict = ParseConfig(Yaml(", template: r1_zero", ", template: plain", "a, b", ""));
  ASSERT_FALSE(conflict.ok());
  EXPECT_THAT(std::string(conflict.status().message()),
              HasSubstr("stages[0].template: input datasets \"a\" and \"b\" set different "
                        "templates"));
  EXPECT_TRUE(
      ParseConfig(Yaml(", template: r1_zero", ", template: plain", "a, b", "    template: raw\n"))
          .ok());
}

TEST(ConfigTemplateTest, OverlongFilterParsesAndRoundTrips) {
  const std::string yaml =
      "run: {name: t}\nmodel: {path: /m}\ndatasets:\n"
      "  a: {synthetic: {kind: arithmetic, count: 4}}\nstages:\n"
      "  - name: g\n    type: grpo\n    inputs: {datasets: [a]}\n"
      "    grpo: {overlong_filter: true}\n";
  auto c = ParseConfig(yaml);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->stages[0].grpo.overlong_filter);
  auto again = ParseConfig(ConfigToYaml(*c));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->stages[0].grpo.overlong_filter);
  auto off = ParseConfig(ConfigToYaml(*c).replace(ConfigToYaml(*c).find("overlong_filter: true"),
                                                  21, "overlong_filter: false"));
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->stages[0].grpo.overlong_filter);
}

}  // namespace
}  // namespace r1
