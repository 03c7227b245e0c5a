// Tests for the typed dataset readers, including the real GSM8K files.
#include "pipeline/datasets.h"

#include <string>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace r1 {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kGsm8kDir = std::string(R1_TEST_DATA_DIR) + "/gsm8k";

class DatasetsTest : public testing_util::ScratchDirTest {};

TEST(Gsm8kReferenceTest, ExtractsNumberAfterLastMarker) {
  EXPECT_EQ(*ExtractGsm8kReference("a\nb\n#### 72"), "72");
  EXPECT_EQ(*ExtractGsm8kReference("x #### 1 ####  1,080 \n"), "1080");
  EXPECT_EQ(*ExtractGsm8kReference("#### -5"), "-5");
  EXPECT_EQ(*ExtractGsm8kReference("#### 3.5"), "3.5");
  EXPECT_FALSE(ExtractGsm8kReference("no marker 72").ok());
  EXPECT_FALSE(ExtractGsm8kReference("#### ").ok());
}

TEST(Gsm8kReferenceTest, StripsCalculatorAnnotations) {
  EXPECT_EQ(StripCalculatorAnnotations("48/2 = <<48/2=24>>24 clips. 48+24 = <<48+24=72>>72"),
            "48/2 = 24 clips. 48+24 = 72");
  EXPECT_EQ(StripCalculatorAnnotations("a << b"), "a << b");
}

TEST(Gsm8kRealDataTest, TrainParsesCompletely) {
  JsonlReadStats stats;
  auto examples = ReadGsm8k(kGsm8kDir + "/train.jsonl", {}, &stats);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 7473u);
  EXPECT_EQ(stats.records, 7473);
  EXPECT_EQ(stats.skipped_lines, 0);
  const Example& first = (*examples)[0];
  EXPECT_EQ(first.id, "train.jsonl:1");
  EXPECT_EQ(first.task, "gsm8k");
  EXPECT_THAT(first.prompt, HasSubstr("Natalia sold clips to 48 of her friends in April"));
  EXPECT_EQ(first.reference, "72");
  EXPECT_EQ(first.solution,
            "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 "
            "clips altogether in April and May.\n#### 72");
  EXPECT_EQ((*examples)[1].reference, "10");
  EXPECT_EQ((*examples)[99].reference, "3");
  EXPECT_EQ((*examples)[7472].reference, "50");
  for (const Example& ex : *examples) {
    ASSERT_FALSE(ex.reference.empty()) << ex.id;
    ASSERT_EQ(ex.reference.find(','), std::string::npos) << ex.id << " " << ex.reference;
    ASSERT_FALSE(ex.prompt.empty()) << ex.id;
  }
}

TEST(Gsm8kRealDataTest, TestParsesCompletelyAndStripsAnnotations) {
  DatasetOptions options;
  options.strip_calculator_annotations = true;
  auto examples = ReadGsm8k(kGsm8kDir + "/test.jsonl", options);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 1319u);
  EXPECT_THAT((*examples)[0].prompt, HasSubstr("Janet"));
  EXPECT_EQ((*examples)[0].reference, "18");
  EXPECT_EQ((*examples)[1].reference, "3");
  EXPECT_EQ((*examples)[2].reference, "70000");
  EXPECT_EQ((*examples)[1318].reference, "14");
  EXPECT_EQ((*examples)[1318].solution,
            "There are 7*8=56 slices in total.\nThere are 1+3=4 people in total.\nThey can each "
            "have 56/4=14 slices.\n#### 14");
  for (const Example& ex : *examples) {
    ASSERT_EQ(ex.solution.find("<<"), std::string::npos) << ex.id;
  }
}

TEST(Gsm8kRealDataTest, MaxExamplesStopsEarly) {
  DatasetOptions options;
  options.max_examples = 5;
  auto examples = ReadGsm8k(kGsm8kDir + "/train.jsonl", options);
  ASSERT_TRUE(examples.ok());
  EXPECT_EQ(examples->size(), 5u);
}

TEST_F(DatasetsTest, Gsm8kBadRecordNamesFileLineAndField) {
  std::string path = Write("g.jsonl",
                           "{\"question\":\"q1\",\"answer\":\"s\\n#### 4\"}\n"
                           "{\"question\":\"q2\",\"answer\":\"no marker\"}\n"
                           "{\"question\":3,\"answer\":\"#### 4\"}\n");
  auto strict = ReadGsm8k(path);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.status().message(),
              HasSubstr(path + ":2: field \"answer\": GSM8K answer has"));

  DatasetOptions lenient;
  lenient.jsonl.skip_bad_lines = true;
  JsonlReadStats stats;
  auto examples = ReadGsm8k(path, lenient, &stats);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 1u);
  EXPECT_EQ(stats.records, 1);
  EXPECT_EQ(stats.skipped_lines, 2);
  ASSERT_EQ(stats.skipped_messages.size(), 2u);
  EXPECT_THAT(stats.skipped_messages[1],
              HasSubstr(":3: field \"question\": expected a string, got number"));
}

TEST_F(DatasetsTest, PromptAnswerWithConfigurableFields) {
  std::string path =
      Write("pa.jsonl",
            "{\"id\":\"a\",\"prompt\":\"1+1?\",\"answer\":\"2\",\"solution\":\"s\"}\n"
            "{\"prompt\":\"2+2?\",\"answer\":4,\"id\":7}\n");
  auto examples = ReadPromptAnswer(path);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 2u);
  EXPECT_EQ((*examples)[0].id, "a");
  EXPECT_EQ((*examples)[0].reference, "2");
  EXPECT_EQ((*examples)[0].solution, "s");
  EXPECT_EQ((*examples)[1].id, "7");
  EXPECT_EQ((*examples)[1].reference, "4");
  EXPECT_EQ((*examples)[1].solution, "");

  std::string renamed = Write("q.jsonl", "{\"q\":\"hi\",\"a\":\"yo\"}\n");
  DatasetOptions options;
  options.fields.prompt = "q";
  options.fields.answer = "a";
  auto custom = ReadPromptAnswer(renamed, options);
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ((*custom)[0].prompt, "hi");
  EXPECT_EQ((*custom)[0].reference, "yo");
  EXPECT_EQ((*custom)[0].id, "q.jsonl:1");

  auto wrong = ReadPromptAnswer(renamed);  // default field names do not match
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("q.jsonl:1: field \"prompt\": missing"));
}

TEST_F(DatasetsTest, AnswerOfWrongTypeIsError) {
  std::string path = Write("t.jsonl", "{\"prompt\":\"p\",\"answer\":[1]}\n");
  auto examples = ReadPromptAnswer(path);
  ASSERT_FALSE(examples.ok());
  EXPECT_THAT(examples.status().message(),
              HasSubstr(":1: field \"answer\": expected a string or a number, got array"));
}

TEST_F(DatasetsTest, ChatMessages) {
  std::string path = Write(
      "c.jsonl",
      "{\"messages\":[{\"role\":\"system\",\"content\":\"be nice\"},"
      "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}\n"
      "{\"messages\":[{\"role\":\"user\",\"content\":\"2+2?\"}],\"answer\":4}\n");
  auto examples = ReadChat(path);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 2u);
  ASSERT_EQ((*examples)[0].messages.size(), 3u);
  EXPECT_EQ((*examples)[0].messages[0].role, "system");
  EXPECT_EQ((*examples)[0].messages[2].content, "hello");
  EXPECT_EQ((*examples)[0].prompt, "hi");
  EXPECT_EQ((*examples)[0].solution, "hello");
  EXPECT_EQ((*examples)[1].prompt, "2+2?");
  EXPECT_EQ((*examples)[1].solution, "");
  EXPECT_EQ((*examples)[1].reference, "4");
}

TEST_F(DatasetsTest, ChatBadMessagesNameTheElement) {
  std::string path = Write("c.jsonl",
                           "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                           "{\"role\":\"assistant\"}]}\n"
                           "{\"messages\":[]}\n"
                           "{\"messages\":\"hi\"}\n");
  DatasetOptions lenient;
  lenient.jsonl.skip_bad_lines = true;
  JsonlReadStats stats;
  auto examples = ReadChat(path, lenient, &stats);
  ASSERT_TRUE(examples.ok());
  EXPECT_TRUE(examples->empty());
  ASSERT_EQ(stats.skipped_messages.size(), 3u);
  EXPECT_THAT(stats.skipped_messages[0],
              HasSubstr(":1: field \"messages[1]\": field \"content\": missing"));
  EXPECT_THAT(stats.skipped_messages[1], HasSubstr(":2: field \"messages\": empty conversation"));
  EXPECT_THAT(stats.skipped_messages[2],
              HasSubstr(":3: field \"messages\": expected an array, got string"));
}

TEST_F(DatasetsTest, PreferencePairs) {
  std::string path = Write("p.jsonl",
                           "{\"prompt\":\"p\",\"chosen\":\"good\",\"rejected\":\"bad\"}\n"
                           "{\"prompt\":\"p\",\"chosen\":\"good\"}\n");
  auto strict = ReadPreferencePairs(path);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.status().message(), HasSubstr(":2: field \"rejected\": missing"));
  DatasetOptions lenient;
  lenient.jsonl.skip_bad_lines = true;
  auto pairs = ReadPreferencePairs(path, lenient);
  ASSERT_TRUE(pairs.ok());
  ASSERT_EQ(pairs->size(), 1u);
  EXPECT_EQ((*pairs)[0].chosen, "good");
  EXPECT_EQ((*pairs)[0].rejected, "bad");
  EXPECT_EQ((*pairs)[0].id, "p.jsonl:1");
}

TEST_F(DatasetsTest, ToJsonRoundTrips) {
  Example ex{"id1", "What is 2+3?", "5", "<think>2+3=5</think><answer>5</answer>", {}, "arith"};
  std::string path = JoinPath(dir_, "rt.jsonl");
  ASSERT_TRUE(WriteJsonlAtomic(path, {ExampleToJson(ex)}).ok());
  auto back = ReadPromptAnswer(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].id, "id1");
  EXPECT_EQ((*back)[0].prompt, ex.prompt);
  EXPECT_EQ((*back)[0].reference, "5");
  EXPECT_EQ((*back)[0].solution, ex.solution);
  EXPECT_EQ((*back)[0].task, "arith");

  PreferencePair pair{"x", "p", "c", "r"};
  EXPECT_EQ(PreferencePairToJson(pair).dump(),
            "{\"chosen\":\"c\",\"id\":\"x\",\"prompt\":\"p\",\"rejected\":\"r\"}");
}

TEST(DatasetFormatTest, ParsesNamesAndListsKnownOnes) {
  EXPECT_EQ(*ParseDatasetFormat("gsm8k"), DatasetFormat::kGsm8k);
  EXPECT_EQ(*ParseDatasetFormat("chat"), DatasetFormat::kChat);
  EXPECT_EQ(DatasetFormatName(DatasetFormat::kPromptAnswer), "prompt_answer");
  auto bad = ParseDatasetFormat("gsm9k");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("\"gsm9k\""));
  EXPECT_THAT(bad.status().message(), HasSubstr("gsm8k, prompt_answer, chat, preference"));
}

}  // namespace
}  // namespace r1
