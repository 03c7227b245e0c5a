// Tests of the report's HTML text helpers: escaping, UTF-8-safe truncation, number and duration
// formatting.
#include "report/html.h"

#include <cmath>

#include "gtest/gtest.h"

namespace r1 {
namespace {

TEST(HtmlTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(EscapeHtml("<script>alert('x & \"y\"')</script>"),
            "&lt;script&gt;alert(&#39;x &amp; &quot;y&quot;&#39;)&lt;/script&gt;");
  EXPECT_EQ(EscapeHtml("plain \xC3\xA9t\xC3\xA9"), "plain \xC3\xA9t\xC3\xA9");  // UTF-8 kept
  EXPECT_EQ(EscapeHtml(""), "");
}

TEST(HtmlTest, TruncatesAtACharacterBoundaryAndSaysHowMuchWasCut) {
  EXPECT_EQ(TruncateUtf8("abc", 3), "abc");
  EXPECT_EQ(TruncateUtf8("abc", 0), "abc");
  EXPECT_EQ(TruncateUtf8("abcdef", 4), "abcd \xE2\x80\xA6 (2 more bytes)");
  // "é" is two bytes (C3 A9): a cut inside it backs off before it.
  EXPECT_EQ(TruncateUtf8("a\xC3\xA9z", 2), "a \xE2\x80\xA6 (3 more bytes)");
}

TEST(HtmlTest, FormatsNumbersAndDurations) {
  EXPECT_EQ(FormatNumber(0.125), "0.125");
  EXPECT_EQ(FormatNumber(1e-5), "1e-05");
  EXPECT_EQ(FormatNumber(1234.567), "1235");
  EXPECT_EQ(FormatNumber(12345.678), "12346");
  EXPECT_EQ(FormatNumber(2.5e9), "2.5e+09");
  EXPECT_EQ(FormatNumber(std::nan("")), "NaN");
  EXPECT_EQ(FormatDurationMs(850), "850 ms");
  EXPECT_EQ(FormatDurationMs(12345), "12.3 s");
  EXPECT_EQ(FormatDurationMs(245000), "4 min 05 s");
  EXPECT_EQ(FormatDurationMs(7380000), "2 h 03 min");
  EXPECT_EQ(FormatDurationMs(-1), "-");
}

}  // namespace
}  // namespace r1
