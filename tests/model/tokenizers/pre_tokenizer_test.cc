// Tests of the split-regex matchers (hand-split cases) and the GPT-2 ByteLevel map.
#include "model/tokenizers/pre_tokenizer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Split(const std::string& text, SplitPattern pattern) {
  auto pieces = SplitPieces(text, pattern);
  EXPECT_TRUE(pieces.ok()) << pieces.status();
  std::vector<std::string> out;
  if (pieces.ok()) {
    for (absl::string_view p : *pieces) out.emplace_back(p);
  }
  return out;
}

std::vector<std::string> Qwen(const std::string& text) { return Split(text, SplitPattern::kQwen2); }

TEST(Qwen2SplitTest, Words) {
  EXPECT_THAT(Qwen("Hello world"), ElementsAre("Hello", " world"));
  EXPECT_THAT(Qwen(""), ElementsAre());
  EXPECT_THAT(Qwen("   Hello"), ElementsAre("  ", " Hello"));  // \s+(?!\S) leaves one space
  EXPECT_THAT(Qwen("\tHello"), ElementsAre("\tHello"));        // any non-newline prefix char
  EXPECT_THAT(Qwen("(Hello)"), ElementsAre("(Hello", ")"));
  EXPECT_THAT(Qwen("\xC3\xA9t\xC3\xA9 \xE6\x88\x91"),
              ElementsAre("\xC3\xA9t\xC3\xA9", " \xE6\x88\x91"));
}

TEST(Qwen2SplitTest, ContractionsAreCaseInsensitive) {
  EXPECT_THAT(Qwen("I've"), ElementsAre("I", "'ve"));
  EXPECT_THAT(Qwen("I'VE"), ElementsAre("I", "'VE"));
  EXPECT_THAT(Qwen("'sa"), ElementsAre("'s", "a"));
  EXPECT_THAT(Qwen("'x"), ElementsAre("'x"));  // not a contraction: ' prefixes the letters
}

TEST(Qwen2SplitTest, DigitsOneByOne) {
  EXPECT_THAT(Qwen("a123"), ElementsAre("a", "1", "2", "3"));
  EXPECT_THAT(Qwen(" 42"), ElementsAre(" ", "4", "2"));
}

TEST(Qwen2SplitTest, PunctuationAndNewlines) {
  EXPECT_THAT(Qwen("\n ="), ElementsAre("\n", " ="));
  EXPECT_THAT(Qwen("!!!\n\nx"), ElementsAre("!!!\n\n", "x"));
  EXPECT_THAT(Qwen("a  \n\n b"), ElementsAre("a", "  \n\n", " b"));
  EXPECT_THAT(Qwen("a \n c"), ElementsAre("a", " \n", " c"));
  EXPECT_THAT(Qwen("x  "), ElementsAre("x", "  "));  // trailing spaces: one piece
  EXPECT_THAT(Qwen("x\r\n"), ElementsAre("x", "\r\n"));
  EXPECT_THAT(Qwen(" ...a"), ElementsAre(" ...", "a"));
}

TEST(Llama3SplitTest, UpToThreeDigits) {
  EXPECT_THAT(Split("12345", SplitPattern::kLlama3), ElementsAre("123", "45"));
  EXPECT_THAT(Split("x 7", SplitPattern::kLlama3), ElementsAre("x", " ", "7"));
}

TEST(Gpt2SplitTest, SpacePrefixesEveryClass) {
  EXPECT_THAT(Split("Hello world 123 !!", SplitPattern::kGpt2),
              ElementsAre("Hello", " world", " 123", " !!"));
  EXPECT_THAT(Split("I'VE", SplitPattern::kGpt2), ElementsAre("I", "'", "VE"));  // case-sensitive
  EXPECT_THAT(Split("a\n\nb", SplitPattern::kGpt2), ElementsAre("a", "\n", "\n", "b"));
}

TEST(SplitTest, PiecesCoverTheText) {
  const std::string text = "Hi  there,\t\tyou'll see 3.14\xC2\xA0\xE2\x80\x94 \xF0\x9F\x98\x80!\n";
  for (SplitPattern p : {SplitPattern::kGpt2, SplitPattern::kQwen2, SplitPattern::kLlama3}) {
    std::string joined;
    for (const std::string& piece : Split(text, p)) {
      EXPECT_FALSE(piece.empty());
      joined += piece;
    }
    EXPECT_EQ(joined, text);
  }
  EXPECT_FALSE(SplitPieces("a\xFF", SplitPattern::kQwen2).ok());
}

TEST(SplitTest, RecognisesRegexes) {
  auto qwen = SplitPatternFromRegex(
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
  ASSERT_TRUE(qwen.ok());
  EXPECT_EQ(*qwen, SplitPattern::kQwen2);
  auto other = SplitPatternFromRegex("\\w+");
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.status().message(), HasSubstr("\\w+"));
}

TEST(ByteLevelMapTest, Gpt2Mapping) {
  const ByteLevelMap map;
  EXPECT_EQ(map.ByteToChar('a'), U'a');
  EXPECT_EQ(map.ByteToChar(' '), U'\u0120');   // Ġ
  EXPECT_EQ(map.ByteToChar('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(map.ByteToChar(0), U'\u0100');
  EXPECT_EQ(map.ByteToChar(0xAD), U'\u0143');  // the last non-printable byte
  EXPECT_EQ(map.CharToByte(U'\u0120'), ' ');
  EXPECT_EQ(map.CharToByte(U'\u6211'), -1);
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  auto back = map.Decode(map.Encode(all));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
  EXPECT_EQ(map.Encode(" hi"), "\xC4\xA0hi");
}

}  // namespace
}  // namespace r1
