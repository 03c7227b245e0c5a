// Tests of LoadTokenizer's dispatch on its spec and of its errors.
#include "model/tokenizers/tokenizer.h"

#include <stdlib.h>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

TEST(LoadTokenizerTest, Byte) {
  auto tok = LoadTokenizer("byte");
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ((*tok)->vocab_size(), 264);
}

TEST(LoadTokenizerTest, HuggingFaceDirectoryAndFile) {
  const std::string dir = std::string(R1_TEST_DATA_DIR) + "/tokenizers/qwen3";
  auto from_dir = LoadTokenizer(dir);
  ASSERT_TRUE(from_dir.ok()) << from_dir.status();
  EXPECT_EQ((*from_dir)->vocab_size(), 151669);
  EXPECT_EQ((*from_dir)->eos_id(), 151645);  // tokenizer_config.json beside it is read
  auto ids = (*from_dir)->Encode("Hello world");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{9707, 1879}));
}

TEST(LoadTokenizerTest, Errors) {
  auto missing = LoadTokenizer("/nonexistent/tok");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/tok"));
  EXPECT_FALSE(LoadTokenizer("").ok());

  char tmpl[] = "/tmp/r1_load_tok_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto empty_dir = LoadTokenizer(dir);
  ASSERT_FALSE(empty_dir.ok());
  EXPECT_EQ(empty_dir.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(empty_dir.status().message(), HasSubstr("tokenizer.json"));

  ASSERT_TRUE(WriteFileAtomic(dir + "/tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 0}").ok());
  auto corrupt = LoadTokenizer(dir);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(corrupt.status().message(), HasSubstr(dir + "/tokenizer.json"));
  EXPECT_THAT(corrupt.status().message(), HasSubstr("invalid JSON"));
  auto corrupt_file = LoadTokenizer(dir + "/tokenizer.json");
  EXPECT_FALSE(corrupt_file.ok());
  ASSERT_TRUE(RemoveAll(dir).ok());
}

TEST(ToValidUtf8Test, ReplacesInvalidBytes) {
  EXPECT_EQ(ToValidUtf8("ok"), "ok");
  EXPECT_EQ(ToValidUtf8("a\xE6\x88"), "a\xEF\xBF\xBD");
}

}  // namespace
}  // namespace r1
