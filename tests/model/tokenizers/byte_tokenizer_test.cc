// Tests of the byte tokenizer: ids, special tokens, round trips, errors, SaveTo/LoadTokenizer.
#include "model/tokenizers/byte_tokenizer.h"

#include <stdlib.h>

#include <random>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/model/tokenizers/random_text.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ByteTokenizerTest, BytesAreIds) {
  ByteTokenizer tok;
  auto ids = tok.Encode("hi \xC3\xA9");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre(104, 105, 32, 0xC3, 0xA9));
  EXPECT_EQ(tok.vocab_size(), 264);
  auto empty = tok.Encode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ByteTokenizerTest, SpecialTokensHaveFixedIds) {
  ByteTokenizer tok;
  EXPECT_EQ(tok.pad_id(), 256);
  EXPECT_EQ(tok.eos_id(), 257);
  EXPECT_EQ(tok.TokenId("<|pad|>"), 256);
  EXPECT_EQ(tok.TokenId("<|endoftext|>"), 257);
  EXPECT_EQ(tok.TokenId("<think>"), 258);
  EXPECT_EQ(tok.TokenId("</think>"), 259);
  EXPECT_EQ(tok.TokenId("<answer>"), 260);
  EXPECT_EQ(tok.TokenId("</answer>"), 261);
  EXPECT_EQ(tok.TokenId("<|im_start|>"), 262);
  EXPECT_EQ(tok.TokenId("<|im_end|>"), 263);
  EXPECT_EQ(tok.TokenId("<nope>"), std::nullopt);
  EXPECT_EQ(tok.TokenId("a"), std::nullopt);
  auto ids = tok.Encode("<think>x</think><answer>7</answer><|endoftext|>");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre(258, 'x', 259, 260, '7', 261, 257));
  ids = tok.Encode("<thin>k");  // not a special token
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre('<', 't', 'h', 'i', 'n', '>', 'k'));
  auto text = tok.Decode({262, 'h', 'i', 263, 256});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "<|im_start|>hi<|im_end|><|pad|>");
}

TEST(ByteTokenizerTest, RoundTripsRandomText) {
  ByteTokenizer tok;
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    const std::string s = RandomText(&rng, 12, ByteTokenizer::SpecialTokens());
    auto ids = tok.Encode(s);
    ASSERT_TRUE(ids.ok()) << ids.status();
    auto back = tok.Decode(*ids);
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(*back, s);
  }
}

TEST(ByteTokenizerTest, Errors) {
  ByteTokenizer tok;
  auto ids = tok.Encode("ok\xE6\x88");
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ids.status().message(), HasSubstr("byte offset 2"));
  for (int32_t bad : {-1, 264, 100000}) {
    auto text = tok.Decode({'a', bad});
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(text.status().message(), HasSubstr(std::to_string(bad)));
  }
  // A decode that cuts a character yields raw bytes.
  auto cut = tok.Decode({0xE6, 0x88});
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(*cut, "\xE6\x88");
  EXPECT_EQ(ToValidUtf8(*cut), "\xEF\xBF\xBD");
}

class ByteTokenizerFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/r1_byte_tok_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(ByteTokenizerFilesTest, SaveToThenLoadTokenizer) {
  ASSERT_TRUE(ByteTokenizer().SaveTo(dir_).ok());
  auto text = ReadFile(dir_ + "/r1_tokenizer.json");
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("\"type\": \"byte\""));
  EXPECT_THAT(*text, HasSubstr("\"<think>\": 258"));
  for (const std::string& spec : {dir_, dir_ + "/r1_tokenizer.json"}) {
    auto tok = LoadTokenizer(spec);
    ASSERT_TRUE(tok.ok()) << tok.status();
    EXPECT_EQ((*tok)->vocab_size(), 264);
    EXPECT_EQ((*tok)->TokenId("</answer>"), 261);
  }
  EXPECT_EQ(ByteTokenizer().SaveTo(dir_ + "/missing").code(), absl::StatusCode::kNotFound);
}

TEST_F(ByteTokenizerFilesTest, CorruptConfigIsAnError) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/r1_tokenizer.json", "{\"type\": \"byte\"").ok());
  auto tok = LoadTokenizer(dir_);
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr("r1_tokenizer.json: invalid JSON"));
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/r1_tokenizer.json", "{\"type\": \"bpe\"}").ok());
  tok = LoadTokenizer(dir_);
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr("expected \"byte\""));
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/r1_tokenizer.json",
                              R"({"type": "byte", "special_tokens": {"<think>": 5}})")
                  .ok());
  tok = LoadTokenizer(dir_);
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr("special_tokens"));
  // Without special_tokens the file is accepted (the ids are fixed anyway).
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/r1_tokenizer.json", R"({"type": "byte"})").ok());
  EXPECT_TRUE(LoadTokenizer(dir_).ok());
}

}  // namespace
}  // namespace r1
