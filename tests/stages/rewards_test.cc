// Format, language, overlong rewards, the reward registry and weighted mix, reward-model scope.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "stages/rewards/accuracy.h"
#include "stages/rewards/format.h"
#include "stages/rewards/language.h"
#include "stages/rewards/overlong.h"
#include "stages/rewards/reward.h"
#include "stages/rewards/reward_model.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(FormatTest, MatchesTheRecipeRegex) {
  EXPECT_TRUE(MatchesThinkAnswerFormat("<think>a</think><answer>b</answer>"));
  EXPECT_TRUE(
      MatchesThinkAnswerFormat(" \n<think>\nstep 1\n</think>\n\n<answer>\n18\n</answer>\n"));
  EXPECT_TRUE(MatchesThinkAnswerFormat("<think></think><answer></answer>"));
  // Lazy .*? still lets the groups extend to later tags, as the regex does.
  EXPECT_TRUE(MatchesThinkAnswerFormat("<think>a</think>b</think> <answer>x</answer>"));
  EXPECT_TRUE(MatchesThinkAnswerFormat("<think>a</think><answer>b</answer><answer>c</answer>"));
  EXPECT_FALSE(MatchesThinkAnswerFormat("<think>a</think> extra <answer>b</answer>"));
  EXPECT_FALSE(MatchesThinkAnswerFormat("<think>a</think><answer>b</answer> trailing"));
  EXPECT_FALSE(MatchesThinkAnswerFormat("preamble <think>a</think><answer>b</answer>"));
  EXPECT_FALSE(MatchesThinkAnswerFormat("<answer>b</answer>"));
  EXPECT_FALSE(MatchesThinkAnswerFormat("<think>a</think>"));
  EXPECT_FALSE(MatchesThinkAnswerFormat("<think>x<answer>y</answer>"));
  EXPECT_FALSE(MatchesThinkAnswerFormat("<think>a</think></answer>"));
  EXPECT_FALSE(MatchesThinkAnswerFormat(""));
}

TEST(FormatTest, PartialCredit) {
  FormatOptions options;
  options.think_only = 0.5;
  EXPECT_EQ(FormatScore("<think>a</think><answer>b</answer>", options), 1.0);
  EXPECT_EQ(FormatScore("<think>a</think> the answer is 5", options), 0.5);
  EXPECT_EQ(FormatScore("<think>a</think><answer>b", options), 0.5);
  EXPECT_EQ(FormatScore("<think>unclosed", options), 0.0);
  EXPECT_EQ(FormatScore("just 5", options), 0.0);
  EXPECT_EQ(FormatScore("<think>a</think>", FormatOptions{}), 0.0);
}

TEST(FormatTest, LongResponseDoesNotOverflow) {
  std::string response = "<think>" + std::string(2'000'000, 'x') + "</think><answer>1</answer>";
  EXPECT_TRUE(MatchesThinkAnswerFormat(response));
}

TEST(LanguageTest, CountsWordsByScript) {
  ScriptWordCounts counts = CountWordsByScript("Hello world, 123 !!! 世界 привет");
  EXPECT_THAT(counts.by_script, ElementsAre(Pair("Cyrillic", 1), Pair("Han", 2), Pair("Latin", 2)));
  EXPECT_EQ(counts.total, 5);
  counts = CountWordsByScript("hello世界");
  EXPECT_THAT(counts.by_script, ElementsAre(Pair("Han", 2), Pair("Latin", 1)));
  counts = CountWordsByScript("caf\xC3\xA9 nai\xCC\x88ve x2");  // precomposed é, combining ¨
  EXPECT_THAT(counts.by_script, ElementsAre(Pair("Latin", 3)));
  counts = CountWordsByScript("日本語のテキスト");
  EXPECT_THAT(counts.by_script,
              ElementsAre(Pair("Han", 3), Pair("Hiragana", 1), Pair("Katakana", 4)));
  EXPECT_EQ(CountWordsByScript("123 4.5 ... -- $ 7%").total, 0);
  EXPECT_EQ(CountWordsByScript("").total, 0);
  counts = CountWordsByScript(
      "abc\xFF\xFE"
      "def");  // invalid UTF-8 separates words
  EXPECT_THAT(counts.by_script, ElementsAre(Pair("Latin", 2)));
}

TEST(LanguageTest, ChainOfThought) {
  EXPECT_EQ(ChainOfThought("<think>a b</think><answer>c</answer>"), "a b");
  EXPECT_EQ(ChainOfThought("x <think>a b"), "a b");
  EXPECT_EQ(ChainOfThought("a b</think> c"), "a b");
  EXPECT_EQ(ChainOfThought("plain"), "plain");
}

TEST(LanguageTest, ShareOfTargetWords) {
  LanguageOptions latin;
  latin.target_scripts = {"Latin"};
  auto v = LanguageConsistency("<think>the cat 猫</think><answer>yes yes yes</answer>", "", latin);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_DOUBLE_EQ(*v, 2.0 / 3.0);
  // Whole response without a think block.
  v = LanguageConsistency("один two", "", latin);
  ASSERT_TRUE(v.ok());
  EXPECT_DOUBLE_EQ(*v, 0.5);
}

TEST(LanguageTest, TargetFromPromptsDominantScript) {
  LanguageOptions from_prompt;
  auto v = LanguageConsistency("<think>two plus 二</think>", "What is 2+2? 二", from_prompt);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_DOUBLE_EQ(*v, 2.0 / 3.0);
  v = LanguageConsistency("<think>two plus 二</think>", "二加二等于几", from_prompt);
  ASSERT_TRUE(v.ok());
  EXPECT_DOUBLE_EQ(*v, 1.0 / 3.0);
  auto error = LanguageConsistency("words", "123 ?", from_prompt);
  EXPECT_EQ(error.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(error.status()), HasSubstr("prompt"));
}

TEST(LanguageTest, EmptyChainOfThought) {
  LanguageOptions options;
  options.target_scripts = {"Latin"};
  EXPECT_EQ(*LanguageConsistency("<think>123</think>", "", options), 1.0);
  options.empty_score = 0.0;
  EXPECT_EQ(*LanguageConsistency("<think> </think>", "", options), 0.0);
}

TEST(LanguageTest, ParseScriptNames) {
  auto names = ParseScriptNames("latin, Han,Cyrl");
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, ElementsAre("Latin", "Han", "Cyrillic"));
  EXPECT_TRUE(ParseScriptNames("")->empty());
  auto bad = ParseScriptNames("latin,klingon");
  EXPECT_THAT(Message(bad.status()), HasSubstr("klingon"));
  EXPECT_FALSE(ParseScriptNames("common").ok());
}

TEST(OverlongTest, DapoSoftPenalty) {
  // L_max 100, L_cache 20: free up to 80, linear to -1 at 100, -1 beyond.
  EXPECT_EQ(OverlongPenalty(0, 100, 20), 0.0);
  EXPECT_EQ(OverlongPenalty(80, 100, 20), 0.0);
  EXPECT_DOUBLE_EQ(OverlongPenalty(81, 100, 20), -0.05);
  EXPECT_DOUBLE_EQ(OverlongPenalty(90, 100, 20), -0.5);
  EXPECT_DOUBLE_EQ(OverlongPenalty(100, 100, 20), -1.0);
  EXPECT_EQ(OverlongPenalty(101, 100, 20), -1.0);
  EXPECT_EQ(OverlongPenalty(5000, 100, 20), -1.0);
  EXPECT_EQ(CountCodePoints("h\xC3\xA9llo"), 5);
  EXPECT_EQ(CountCodePoints("世界"), 2);
}

TEST(OverlongTest, RewardUnitsAndErrors) {
  auto tokens = MakeOverlongReward({{"max_length", 100}, {"cache_length", 20}});
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  RewardInput input;
  input.response = "abc";
  auto missing = (*tokens)->Compute(input);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(missing.status()), HasSubstr("tokens"));
  input.response_length_tokens = 90;
  EXPECT_DOUBLE_EQ((*tokens)->Compute(input)->value, -0.5);

  auto chars = MakeOverlongReward({{"max_length", 4}, {"cache_length", 2}, {"unit", "chars"}});
  ASSERT_TRUE(chars.ok()) << chars.status();
  input.response = "h\xC3\xA9llo";  // 5 code points > 4
  EXPECT_EQ((*chars)->Compute(input)->value, -1.0);
  input.response = "h\xC3\xA9l";  // 3 code points: (2 - 3) / 2
  EXPECT_DOUBLE_EQ((*chars)->Compute(input)->value, -0.5);

  EXPECT_THAT(Message(MakeOverlongReward({{"max_length", 10}}).status()),
              HasSubstr("cache_length"));
  EXPECT_THAT(Message(MakeOverlongReward({{"max_length", 10}, {"cache_length", 11}}).status()),
              HasSubstr("cache_length"));
  EXPECT_THAT(
      Message(MakeOverlongReward({{"max_length", 10}, {"cache_length", 2}, {"unit", "bytes"}})
                  .status()),
      HasSubstr("bytes"));
  EXPECT_THAT(Message(MakeOverlongReward({{"max_length", "ten"}, {"cache_length", 2}}).status()),
              HasSubstr("\"ten\""));
  EXPECT_THAT(Message(MakeOverlongReward({{"max_len", 10}}).status()),
              HasSubstr("unknown param \"max_len\""));
}

TEST(AccuracyRewardTest, GradesAndReportsExtraction) {
  auto reward = MakeAccuracyReward(nullptr);
  ASSERT_TRUE(reward.ok()) << reward.status();
  RewardInput input;
  input.response = "<think>9 * 2</think><answer>$18</answer>";
  input.reference = "9 * 2 = <<9*2=18>>18\n#### 18";
  auto v = (*reward)->Compute(input);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->value, 1.0);
  EXPECT_EQ(v->extracted, "$18");
  input.response = "I think 17";
  EXPECT_EQ((*reward)->Compute(input)->value, 0.0);
  input.reference = "  ";
  EXPECT_FALSE((*reward)->Compute(input).ok());
}

TEST(AccuracyRewardTest, RequireTag) {
  AccuracyOptions strict;
  strict.require_tag = true;
  EXPECT_FALSE(GradeMathAnswer("so it is 18", "18", strict).correct);
  EXPECT_TRUE(GradeMathAnswer("so it is 18", "18", AccuracyOptions{}).correct);
  EXPECT_TRUE(GradeMathAnswer("so it is \\boxed{18}", "18", strict).correct);
  EXPECT_TRUE(GradeMathAnswer("<answer>18</answer>", "18", strict).correct);
  EXPECT_THAT(Message(MakeAccuracyReward({{"require_tag", 1}}).status()), HasSubstr("require_tag"));
}

TEST(RewardRegistryTest, RefusesDuplicatesAndListsKnownNames) {
  RewardRegistry registry = BuiltinRewardRegistry();
  EXPECT_THAT(registry.Names(), ElementsAre("accuracy", "code", "format", "language", "overlong"));
  absl::Status dup = registry.Register("format", MakeFormatReward);
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  auto unknown = registry.Create("acuracy", nullptr);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(unknown.status()),
              HasSubstr("\"acuracy\" (known: accuracy, code, format, language, overlong)"));
  EXPECT_TRUE(registry.Register("format2", MakeFormatReward).ok());
  EXPECT_TRUE(registry.Contains("format2"));
}

TEST(CompositeRewardTest, WeightedSumWithParts) {
  std::vector<RewardSpec> specs = {{"accuracy", 1.0, {}},
                                   {"format", 0.5, {{"think_only", 0.2}}},
                                   {"language", 0.25, {{"target", "latin"}}}};
  auto composite = CompositeReward::Create(specs, BuiltinRewardRegistry());
  ASSERT_TRUE(composite.ok()) << composite.status();
  RewardInput input;
  input.response = "<think>two times nine 九</think>\n<answer>\\boxed{18}</answer>";
  input.reference = "#### 18";
  auto b = composite->Compute(input);
  ASSERT_TRUE(b.ok()) << b.status();
  // 1 * 1 + 0.5 * 1 + 0.25 * (3/4)
  EXPECT_DOUBLE_EQ(b->total, 1.6875);
  EXPECT_THAT(b->parts,
              ElementsAre(Pair("accuracy", 1.0), Pair("format", 1.0), Pair("language", 0.75)));
  EXPECT_EQ(b->extracted, "18");

  input.response = "<think>guess</think> 17";
  b = composite->Compute(input);
  ASSERT_TRUE(b.ok());
  EXPECT_DOUBLE_EQ(b->total, 0.0 + 0.5 * 0.2 + 0.25 * 1.0);
  EXPECT_EQ(b->extracted, "17");
}

TEST(CompositeRewardTest, Errors) {
  RewardRegistry registry = BuiltinRewardRegistry();
  EXPECT_FALSE(CompositeReward::Create({}, registry).ok());
  auto dup = CompositeReward::Create({{"format", 1, {}}, {"format", 2, {}}}, registry);
  EXPECT_THAT(Message(dup.status()), HasSubstr("listed twice"));
  auto unknown = CompositeReward::Create({{"speed", 1, {}}}, registry);
  EXPECT_THAT(Message(unknown.status()), HasSubstr("known: accuracy"));
  auto bad_param = CompositeReward::Create({{"language", 1, {{"target", "elvish"}}}}, registry);
  EXPECT_THAT(Message(bad_param.status()), HasSubstr("reward \"language\""));
  EXPECT_THAT(Message(bad_param.status()), HasSubstr("elvish"));
  auto nan = CompositeReward::Create({{"format", std::nan(""), {}}}, registry);
  EXPECT_FALSE(nan.ok());
  // A part's run-time error names the part.
  auto overlong = CompositeReward::Create(
      {{"overlong", 1, {{"max_length", 10}, {"cache_length", 5}}}}, registry);
  ASSERT_TRUE(overlong.ok());
  auto failed = overlong->Compute(RewardInput{"", "response", "", std::nullopt});
  EXPECT_THAT(Message(failed.status()), HasSubstr("reward \"overlong\""));
}

TEST(ParseRewardSpecsTest, NamesAndWeights) {
  auto specs = ParseRewardSpecs("accuracy, format", "1,0.5");
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[1].name, "format");
  EXPECT_EQ((*specs)[1].weight, 0.5);
  EXPECT_EQ((*ParseRewardSpecs("accuracy", ""))[0].weight, 1.0);
  EXPECT_THAT(Message(ParseRewardSpecs("accuracy,format", "1").status()), HasSubstr("1 weights"));
  EXPECT_THAT(Message(ParseRewardSpecs("accuracy", "x").status()), HasSubstr("\"x\""));
  EXPECT_FALSE(ParseRewardSpecs("accuracy,,format", "").ok());
}

TEST(RewardModelScopeTest, FinalAnswerIsTextAfterThinking) {
  EXPECT_EQ(ScopedResponse(RewardModelScope::kFinalAnswer, "<think>x</think>\n Summary."),
            "Summary.");
  EXPECT_EQ(ScopedResponse(RewardModelScope::kFinalAnswer, "no tags "), "no tags");
  EXPECT_EQ(ScopedResponse(RewardModelScope::kWholeResponse, "<think>x</think> y"),
            "<think>x</think> y");
}

TEST(AccuracyTest, CountdownReferencesGradeTheExpression) {
  const char kRef[] = "target=83;numbers=3,5,25,4";
  EXPECT_TRUE(GradeMathAnswer("<think>t</think><answer>(25-5)*4+3</answer>", kRef, {}).correct);
  EXPECT_TRUE(GradeMathAnswer("<answer>(25-5)*4+3 = 83</answer>", kRef, {}).correct);
  EXPECT_FALSE(GradeMathAnswer("<answer>(25-5)*4+2</answer>", kRef, {}).correct);  // 82
  EXPECT_FALSE(GradeMathAnswer("<answer>80+3</answer>", kRef, {}).correct);        // 80 not given
  EXPECT_FALSE(GradeMathAnswer("<answer>83</answer>", kRef, {}).correct);          // 83 not given
  EXPECT_FALSE(GradeMathAnswer("no answer", kRef, {}).correct);
}

}  // namespace
}  // namespace r1
