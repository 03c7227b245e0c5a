// Tests of the metrics.jsonl / samples.jsonl writers and the JSONL reader.
#include "pipeline/metrics.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

std::string FreshDir(const std::string& name) {
  std::string dir = JoinPath(::testing::TempDir(), "metrics_test_" + name);
  EXPECT_TRUE(RemoveAll(dir).ok());
  return dir;
}

TEST(MetricsTest, OneLinePerStepWithStepTimeAndValues) {
  std::string path = JoinPath(FreshDir("metrics"), "sft/metrics.jsonl");  // parent made lazily
  MetricsWriter writer(path);
  ASSERT_TRUE(writer.Write(1, {{"loss", 2.5}, {"lr", 1e-4}}).ok());
  ASSERT_TRUE(writer.Write(2, {{"loss", NAN}}).ok());
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(std::count(text->begin(), text->end(), '\n'), 2);
  absl::StatusOr<std::vector<nlohmann::json>> lines = ReadJsonlRecords(path);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0]["step"], 1);
  EXPECT_EQ((*lines)[0]["loss"], 2.5);
  EXPECT_EQ((*lines)[0]["lr"], 1e-4);
  EXPECT_GT((*lines)[0]["time_ms"].get<int64_t>(), 0);
  EXPECT_TRUE((*lines)[1]["loss"].is_null());  // NaN is not JSON
  EXPECT_EQ(writer.Write(3, {{"step", 1.0}}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MetricsTest, SamplesLineHoldsRolloutsAndSurvivesInvalidUtf8) {
  std::string path = JoinPath(FreshDir("samples"), "samples.jsonl");
  SamplesWriter writer(path);
  RolloutSample a{"What is 2+3?",
                  "<think>2+3=5</think><answer>5</answer>",
                  1.5,
                  {{"accuracy", 1.0}, {"format", 1.0}}};
  RolloutSample b{"Echo hi", std::string("h\xff"), 0.0, {}};  // a generation cut mid-character
  ASSERT_TRUE(writer.Write(7, {a, b}).ok());
  absl::StatusOr<std::vector<nlohmann::json>> lines = ReadJsonlRecords(path);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 1u);
  const nlohmann::json& line = (*lines)[0];
  EXPECT_EQ(line["step"], 7);
  ASSERT_EQ(line["samples"].size(), 2u);
  EXPECT_EQ(line["samples"][0]["response"], a.response);
  EXPECT_EQ(line["samples"][0]["reward"], 1.5);
  EXPECT_EQ(line["samples"][0]["reward_terms"]["format"], 1.0);
  EXPECT_EQ(line["samples"][1]["response"], "h\xEF\xBF\xBD");  // U+FFFD
}

TEST(MetricsTest, ReaderSkipsTornTailAndNamesCorruptLine) {
  std::string dir = FreshDir("reader");
  ASSERT_TRUE(MakeDirs(dir).ok());
  std::string path = JoinPath(dir, "m.jsonl");
  ASSERT_TRUE(WriteFileAtomic(path, "{\"step\":1}\n{\"step\":2}\n{\"st").ok());
  absl::StatusOr<std::vector<nlohmann::json>> lines = ReadJsonlRecords(path);
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->size(), 2u);
  ASSERT_TRUE(WriteFileAtomic(path, "{\"step\":1}\nnope\n{\"step\":2}\n").ok());
  EXPECT_EQ(ReadJsonlRecords(path).status().message(), path + ":2: not a JSON object");
  EXPECT_TRUE(ReadJsonlRecords(JoinPath(dir, "absent.jsonl"))->empty());
}

}  // namespace
}  // namespace r1
