// Tests for the JSONL reader and writers: file:line errors, skip-and-count, CRLF, empty lines.
#include "pipeline/jsonl.h"

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

class JsonlTest : public testing_util::ScratchDirTest {};

TEST_F(JsonlTest, ReadsObjectsIgnoringEmptyLinesAndCrlf) {
  std::string path = Write("a.jsonl", "{\"a\":1}\r\n\n   \r\n{\"a\":2}\n{\"a\":3}");
  JsonlReadStats stats;
  auto objects = ReadJsonl(path, {}, &stats);
  ASSERT_TRUE(objects.ok()) << objects.status();
  ASSERT_EQ(objects->size(), 3u);
  EXPECT_EQ((*objects)[0]["a"], 1);
  EXPECT_EQ((*objects)[2]["a"], 3);
  EXPECT_EQ(stats.lines, 5);
  EXPECT_EQ(stats.records, 3);
  EXPECT_EQ(stats.skipped_lines, 0);
}

TEST_F(JsonlTest, StripsByteOrderMark) {
  std::string path = Write("bom.jsonl", "\xEF\xBB\xBF{\"a\":1}\n");
  auto objects = ReadJsonl(path);
  ASSERT_TRUE(objects.ok()) << objects.status();
  EXPECT_EQ(objects->size(), 1u);
}

TEST_F(JsonlTest, InvalidJsonIsErrorWithFileAndLine) {
  std::string path = Write("bad.jsonl", "{\"a\":1}\n\n{\"a\":\n{\"a\":3}\n");
  auto objects = ReadJsonl(path);
  ASSERT_FALSE(objects.ok());
  EXPECT_EQ(objects.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(objects.status().message(), HasSubstr(path + ":3: invalid JSON"));
}

TEST_F(JsonlTest, NonObjectIsErrorWithFileAndLine) {
  std::string path = Write("arr.jsonl", "{\"a\":1}\n[1,2]\n");
  auto objects = ReadJsonl(path);
  ASSERT_FALSE(objects.ok());
  EXPECT_THAT(objects.status().message(),
              HasSubstr(path + ":2: expected a JSON object, got array"));
}

TEST_F(JsonlTest, SkipBadLinesCountsThem) {
  std::string path = Write("mixed.jsonl", "{\"a\":1}\nnot json\n42\n{\"a\":4}\n{oops\n");
  JsonlReadOptions options;
  options.skip_bad_lines = true;
  JsonlReadStats stats;
  auto objects = ReadJsonl(path, options, &stats);
  ASSERT_TRUE(objects.ok()) << objects.status();
  EXPECT_EQ(objects->size(), 2u);
  EXPECT_EQ(stats.records, 2);
  EXPECT_EQ(stats.skipped_lines, 3);
  ASSERT_EQ(stats.skipped_messages.size(), 3u);
  EXPECT_THAT(stats.skipped_messages[0], HasSubstr(":2: invalid JSON"));
  EXPECT_THAT(stats.skipped_messages[1], HasSubstr(":3: expected a JSON object, got number"));
  EXPECT_THAT(stats.skipped_messages[2], HasSubstr(":5: invalid JSON"));
  EXPECT_THAT(stats.Summary(), HasSubstr("2 records, 3 bad lines skipped"));
}

TEST_F(JsonlTest, CallerRejectionNamesLineOrIsSkipped) {
  std::string path = Write("typed.jsonl", "{\"x\":1}\n{\"y\":2}\n{\"x\":3}\n");
  auto need_x = [](const json& o, int64_t) {
    return o.contains("x") ? absl::OkStatus() : absl::InvalidArgumentError("field \"x\": missing");
  };
  absl::Status strict = ForEachJsonl(path, {}, need_x, nullptr);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.message(), path + ":2: field \"x\": missing");

  JsonlReadOptions lenient;
  lenient.skip_bad_lines = true;
  JsonlReadStats stats;
  ASSERT_TRUE(ForEachJsonl(path, lenient, need_x, &stats).ok());
  EXPECT_EQ(stats.records, 2);
  EXPECT_EQ(stats.skipped_lines, 1);
}

TEST_F(JsonlTest, MissingFileIsNotFound) {
  auto objects = ReadJsonl(JoinPath(dir_, "nope.jsonl"));
  ASSERT_FALSE(objects.ok());
  EXPECT_EQ(objects.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(objects.status().message(), HasSubstr("nope.jsonl"));
}

TEST_F(JsonlTest, StreamingReaderReportsLineNumbers) {
  std::string path = Write("s.jsonl", "\n{\"a\":1}\n\n{\"a\":2}\n");
  auto reader = JsonlReader::Open(path);
  ASSERT_TRUE(reader.ok());
  json o;
  auto more = (*reader)->Next(&o);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ((*reader)->line_number(), 2);
  more = (*reader)->Next(&o);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ((*reader)->line_number(), 4);
  EXPECT_EQ(o["a"], 2);
  more = (*reader)->Next(&o);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST_F(JsonlTest, WriterAppendsAndRoundTrips) {
  std::string path = JoinPath(dir_, "w.jsonl");
  {
    auto writer = JsonlWriter::Open(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(json{{"k", "a\nb"}}).ok());
    EXPECT_FALSE((*writer)->Write(json::array()).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }
  {
    auto writer = JsonlWriter::Open(path);  // appends
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(json{{"k", 2}}).ok());
  }
  ASSERT_TRUE(AppendJsonlLine(path, json{{"k", 3}}).ok());
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "{\"k\":\"a\\nb\"}\n{\"k\":2}\n{\"k\":3}\n");

  auto truncating = JsonlWriter::Open(path, /*truncate=*/true);
  ASSERT_TRUE(truncating.ok());
  ASSERT_TRUE((*truncating)->Write(json{{"k", 4}}).ok());
  ASSERT_TRUE((*truncating)->Close().ok());
  EXPECT_EQ(*ReadFile(path), "{\"k\":4}\n");
}

TEST_F(JsonlTest, AtomicWriteAndInvalidUtf8IsReplaced) {
  std::string path = JoinPath(dir_, "atomic.jsonl");
  ASSERT_TRUE(WriteJsonlAtomic(path, {json{{"a", 1}}, json{{"s", std::string("x\xFFy")}}}).ok());
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "{\"a\":1}\n{\"s\":\"x\xEF\xBF\xBDy\"}\n");
  absl::Status bad = WriteJsonlAtomic(path, {json{{"a", 1}}, json(5)});
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr("record 1"));
  EXPECT_EQ(*ReadFile(path), *text);  // unchanged
}

}  // namespace
}  // namespace r1
