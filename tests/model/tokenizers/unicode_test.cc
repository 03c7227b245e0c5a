// Tests of the UTF-8 helpers, character classes and ICU normalization.
#include "model/tokenizers/unicode.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/tokenizers/tokenizer.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Utf8Test, ValidatesAndNamesTheOffset) {
  EXPECT_TRUE(ValidateUtf8("").ok());
  EXPECT_TRUE(ValidateUtf8("plain ascii").ok());
  EXPECT_TRUE(ValidateUtf8("\xC3\xA9\xE6\x88\x91\xF0\x9F\x98\x80").ok());  // é 我 😀
  struct Case {
    std::string text;
    int offset;
  };
  const Case bad[] = {
      {"ab\xFF", 2},            // never valid
      {"a\x80", 1},             // stray continuation
      {"\xC0\xAF", 0},          // overlong '/'
      {"xy\xE0\x80\x80", 2},    // overlong 3-byte
      {"\xED\xA0\x80", 0},      // surrogate U+D800
      {"\xF4\x90\x80\x80", 0},  // above U+10FFFF
      {"\xE6\x88", 0},          // truncated
      {"ok\xF0\x9F\x98", 2},    // truncated emoji
      {"\xC3\xA9\xC3", 2},      // truncated after a valid character
  };
  for (const Case& c : bad) {
    absl::Status s = ValidateUtf8(c.text);
    ASSERT_FALSE(s.ok()) << c.offset;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("byte offset " + std::to_string(c.offset)));
  }
}

TEST(Utf8Test, DecodesCodePointsAndStarts) {
  auto d = DecodeUtf8("a\xC3\xA9\xF0\x9F\x98\x80");
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(d->code_points, ElementsAre(U'a', U'\u00E9', U'\U0001F600'));
  EXPECT_THAT(d->starts, ElementsAre(0u, 1u, 3u, 7u));
  std::string out;
  for (char32_t c : d->code_points) AppendUtf8(c, &out);
  EXPECT_EQ(out, "a\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(Utf8Test, ToValidUtf8ReplacesMaximalSubparts) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(ToValidUtf8("hello"), "hello");
  EXPECT_EQ(ToValidUtf8("\xE6\x88\x91"), "\xE6\x88\x91");
  EXPECT_EQ(ToValidUtf8("a\xFF"
                        "b"),
            "a" + fffd + "b");
  EXPECT_EQ(ToValidUtf8("\xE6\x88"), fffd);  // one truncated character: one U+FFFD
  EXPECT_EQ(ToValidUtf8("\xE6\x88z"), fffd + "z");
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), fffd + fffd + fffd);  // surrogate: ED then 2 strays
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), fffd + fffd);
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98"), fffd);
  EXPECT_EQ(ToValidUtf8(std::string("\0x", 2)), std::string("\0x", 2));
  EXPECT_TRUE(ValidateUtf8(ToValidUtf8("\x80\x81\xFE\xC3")).ok());
}

TEST(UnicodeClassTest, LettersNumbersSpaces) {
  EXPECT_TRUE(IsLetter('a'));
  EXPECT_TRUE(IsLetter(U'\u00E9'));  // é
  EXPECT_TRUE(IsLetter(U'\u6211'));  // 我
  EXPECT_TRUE(IsLetter(U'\u0436'));  // ж
  EXPECT_FALSE(IsLetter('1'));
  EXPECT_FALSE(IsLetter(U'\u0301'));  // combining mark is Mn, not L
  EXPECT_FALSE(IsLetter(U'\U0001F600'));
  EXPECT_TRUE(IsNumber('7'));
  EXPECT_TRUE(IsNumber(U'\u0663'));  // Arabic-Indic three (Nd)
  EXPECT_TRUE(IsNumber(U'\u00BD'));  // ½ (No)
  EXPECT_TRUE(IsNumber(U'\u2167'));  // Roman numeral eight (Nl)
  EXPECT_FALSE(IsNumber('x'));
  for (char32_t c :
       {U' ', U'\t', U'\n', U'\r', U'\v', U'\f', U'\u00A0', U'\u3000', U'\u2028', U'\u0085'}) {
    EXPECT_TRUE(IsWhitespace(c)) << static_cast<int>(c);
  }
  EXPECT_FALSE(IsWhitespace('a'));
  EXPECT_FALSE(IsWhitespace(U'\u200B'));  // zero width space is not White_Space
}

TEST(NormalizeTest, Nfc) {
  auto nfc = Normalize("e\xCC\x81", NormalizationForm::kNfc);
  ASSERT_TRUE(nfc.ok());
  EXPECT_EQ(*nfc, "\xC3\xA9");
  auto nfd = Normalize("\xC3\xA9", NormalizationForm::kNfd);
  ASSERT_TRUE(nfd.ok());
  EXPECT_EQ(*nfd, "e\xCC\x81");
  auto same = Normalize("already normal", NormalizationForm::kNfc);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, "already normal");
  auto nfkc = Normalize("\xEF\xAC\x81", NormalizationForm::kNfkc);  // ﬁ ligature
  ASSERT_TRUE(nfkc.ok());
  EXPECT_EQ(*nfkc, "fi");
  EXPECT_FALSE(Normalize("\xFF", NormalizationForm::kNfc).ok());
}

}  // namespace
}  // namespace r1
