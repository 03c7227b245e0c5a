// Hand cases for answer extraction, normalisation and equivalence (stages/rewards/math_answer.h).
#include "stages/rewards/math_answer.h"

#include <string>

#include "gtest/gtest.h"

namespace r1 {
namespace {

struct ExtractCase {
  std::string response;
  std::string text;
  AnswerSource source;
};

TEST(ExtractAnswerTest, OrderOfPreference) {
  const ExtractCase cases[] = {
      {"<think>2+2 is 4 or 5</think> <answer>4</answer>", "4", AnswerSource::kAnswerTag},
      {"<answer>1</answer> then <answer> 7 </answer>", "7", AnswerSource::kAnswerTag},
      {"<answer>so \\boxed{12}</answer>", "12", AnswerSource::kAnswerTag},
      {"<answer>#### 12</answer>", "12", AnswerSource::kAnswerTag},
      {"we get \\boxed{3} and finally \\boxed{\\frac{1}{2}} ok 9", "\\frac{1}{2}",
       AnswerSource::kBoxed},
      {"\\fbox{8} then 9", "8", AnswerSource::kBoxed},
      {"\\boxed{a{b{c}}d} 5", "a{b{c}}d", AnswerSource::kBoxed},
      {"\\boxed 42 is it", "42", AnswerSource::kBoxed},
      {"unbalanced \\boxed{3 and 4", "4", AnswerSource::kLastNumber},
      {"\\boxed{5} then \\boxed{6", "5", AnswerSource::kBoxed},
      {"3 + 4 = 7\n#### 7", "7", AnswerSource::kHashes},
      {"So the answer is $18. Done in 3 steps", "$18", AnswerSource::kAnswerIs},
      {"The final answer is: 3.5.", "3.5", AnswerSource::kAnswerIs},
      {"The Answer Is **42**", "42", AnswerSource::kAnswerIs},
      {"Q: what?\nwork 1 2 3\nA: 17\n", "17", AnswerSource::kFinalLine},
      {"blah\nAnswer: yes", "yes", AnswerSource::kFinalLine},
      {"first 3 then 4.5 and finally -12 apples", "-12", AnswerSource::kLastNumber},
      {"10-3 gives 7", "7", AnswerSource::kLastNumber},
      {"5-3", "3", AnswerSource::kLastNumber},
      {"it costs 1,234.50.", "1,234.50", AnswerSource::kLastNumber},
      {"half is 1/2", "1/2", AnswerSource::kLastNumber},
      {"temperature \xE2\x88\x92"
       "5 today",
       "\xE2\x88\x92"
       "5",
       AnswerSource::kLastNumber},
      {"value .5", ".5", AnswerSource::kLastNumber},
      {"no numbers here", "", AnswerSource::kNone},
      {"", "", AnswerSource::kNone},
      {"<answer></answer>", "", AnswerSource::kNone},
      {"<answer>unclosed 5", "5", AnswerSource::kLastNumber},
  };
  for (const ExtractCase& c : cases) {
    ExtractedAnswer got = ExtractAnswer(c.response);
    EXPECT_EQ(got.text, c.text) << c.response;
    EXPECT_EQ(AnswerSourceName(got.source), AnswerSourceName(c.source)) << c.response;
  }
}

// An empty box is no answer (found by fuzz/math_answer_fuzzer: "\fbox  $ ... A:" gave an empty text
// with source "boxed", breaking "text is empty iff source is none").
TEST(ExtractAnswerTest, EmptyBoxesAreNoAnswer) {
  const ExtractedAnswer fuzzed = ExtractAnswer("\\fbox  $            A:\xdd A:\xdd\xa3\\$   \\bo");
  EXPECT_NE(fuzzed.source, AnswerSource::kBoxed);
  EXPECT_EQ(fuzzed.text.empty(), fuzzed.source == AnswerSource::kNone) << fuzzed.text;
  const ExtractCase cases[] = {
      {"\\boxed $5$", "5", AnswerSource::kLastNumber},
      {"\\boxed{ }", "", AnswerSource::kNone},
      {"\\boxed{7} and \\boxed{}", "7", AnswerSource::kBoxed},
  };
  for (const ExtractCase& c : cases) {
    ExtractedAnswer got = ExtractAnswer(c.response);
    EXPECT_EQ(got.text, c.text) << c.response;
    EXPECT_EQ(AnswerSourceName(got.source), AnswerSourceName(c.source)) << c.response;
  }
  EXPECT_EQ(ExtractReferenceAnswer("#### \\boxed{}"), "\\boxed{}");
  EXPECT_EQ(ExtractReferenceAnswer("x \\boxed{ }"), "x \\boxed{ }");
}

TEST(ExtractReferenceAnswerTest, Forms) {
  EXPECT_EQ(ExtractReferenceAnswer("She has 3+4=<<3+4=7>>7 eggs.\n#### 7"), "7");
  EXPECT_EQ(ExtractReferenceAnswer("#### 40,000"), "40,000");
  EXPECT_EQ(ExtractReferenceAnswer("so \\boxed{\\frac{3}{4}}"), "\\frac{3}{4}");
  EXPECT_EQ(ExtractReferenceAnswer("  18 \n"), "18");
}

TEST(NormalizeAnswerTest, Forms) {
  EXPECT_EQ(NormalizeAnswer("$1,000.00"), "1000.00");
  EXPECT_EQ(NormalizeAnswer("\\frac{1}{2}"), "1/2");
  EXPECT_EQ(NormalizeAnswer("\\dfrac{3}{4}"), "3/4");
  EXPECT_EQ(NormalizeAnswer("\\tfrac12"), "1/2");
  EXPECT_EQ(NormalizeAnswer("-\\frac{1}{x+1}"), "-1/(x+1)");
  EXPECT_EQ(NormalizeAnswer("\\frac{\\frac{1}{2}}{3}"), "(1/2)/3");
  EXPECT_EQ(NormalizeAnswer("\\left( 1, 2 \\right)"), "( 1, 2 )");
  EXPECT_EQ(NormalizeAnswer("18\\text{ dollars}"), "18 dollars");
  EXPECT_EQ(NormalizeAnswer("\\boxed{\\dfrac{3}{4}}"), "3/4");
  EXPECT_EQ(NormalizeAnswer("1\\,000\\,000"), "1000000");
  EXPECT_EQ(NormalizeAnswer("1{,}000"), "1000");
  EXPECT_EQ(NormalizeAnswer("90^\\circ"), "90");
  EXPECT_EQ(NormalizeAnswer("90^{\\circ}"), "90");
  EXPECT_EQ(NormalizeAnswer("90\xC2\xB0"), "90");
  EXPECT_EQ(NormalizeAnswer("50\\%"), "50%");
  EXPECT_EQ(NormalizeAnswer("\\(x^2\\)."), "x^2");
  EXPECT_EQ(NormalizeAnswer("\xE2\x88\x92"
                            "3"),
            "-3");
  EXPECT_EQ(NormalizeAnswer("  Yes.  "), "yes");
  EXPECT_EQ(NormalizeAnswer("**42**"), "42");
  EXPECT_EQ(NormalizeAnswer("~5"), "5");
  EXPECT_EQ(NormalizeAnswer("(1,2)"), "(1,2)");  // not a thousands separator
}

// Every kind of LaTeX rewrite: fraction arguments as groups or single characters, unwrapped and
// dropped commands, escapes, and what is left alone.
TEST(NormalizeAnswerTest, LatexCommandsAndEscapes) {
  EXPECT_EQ(NormalizeAnswer("\\frac{1}2"), "1/2");
  EXPECT_EQ(NormalizeAnswer("\\frac1{x}"), "1/(x)");
  EXPECT_EQ(NormalizeAnswer("\\frac{x}{y}"), "(x)/(y)");
  EXPECT_EQ(NormalizeAnswer("\\cfrac{1}{\\text{2}}"), "1/2");
  EXPECT_EQ(NormalizeAnswer("\\frac{a}"), "\\frac{a}");  // no denominator: left as written
  EXPECT_EQ(NormalizeAnswer("\\frac\\pi2"), "\\frac\\pi2");
  EXPECT_EQ(NormalizeAnswer("3\\mathrm{cm}"), "3cm");
  EXPECT_EQ(NormalizeAnswer("\\text 5"), "5");  // an unwrap command without a group is dropped
  EXPECT_EQ(NormalizeAnswer("\\textbf{\\emph{A}}"), "a");
  EXPECT_EQ(NormalizeAnswer("2\\quad m"), "2 m");
  EXPECT_EQ(NormalizeAnswer("\\Big(3\\Big)"), "3");
  EXPECT_EQ(NormalizeAnswer("\\displaystyle\\frac{3}{4}"), "3/4");
  EXPECT_EQ(NormalizeAnswer("1\\\\2"), "1 2");  // a line break is a space
  EXPECT_EQ(NormalizeAnswer("\\$5"), "5");
  EXPECT_EQ(NormalizeAnswer("\\[x\\]"), "x");
  EXPECT_EQ(NormalizeAnswer("1\\!2\\;3\\:4\\ 5"), "12345");
  EXPECT_EQ(NormalizeAnswer("5\\"), "5");  // a lone trailing backslash
  EXPECT_EQ(NormalizeAnswer("\\alpha+1"), "\\alpha+1");
  EXPECT_EQ(NormalizeAnswer("\\{1\\}"), "\\{1\\}");
  EXPECT_EQ(NormalizeAnswer("a\\&b"), "a\\&b");
  EXPECT_EQ(NormalizeAnswer("\\boxedx"), "\\boxedx");  // another command, not \boxed
  EXPECT_EQ(NormalizeAnswer("{x}"), "{x}");
  EXPECT_EQ(NormalizeAnswer("\\text{a}}"), "a}");  // an unmatched brace stays
}

struct EqCase {
  std::string candidate;
  std::string reference;
  bool equal;
};

TEST(AnswersEquivalentTest, HandCases) {
  const EqCase cases[] = {
      {"0.5", "1/2", true},
      {"\\frac{1}{2}", "0.5", true},
      {"\\frac12", "1/2", true},
      {"2/4", "1/2", true},
      {"$1,000.00", "1000", true},
      {"1,000", "1000", true},
      {"18 dollars", "18", true},
      {"18\\text{ dollars}", "18", true},
      {"$18", "18", true},
      {"18.", "18", true},
      {"\xE2\x88\x92"
       "3",
       "-3", true},
      {"-3", "3", false},
      {"+3", "3", true},
      {"007", "7", true},
      {"7.000", "7", true},
      {"-0", "0", true},
      {"5%", "5", true},
      {"5\\%", "5", true},
      {"\\boxed{\\dfrac{3}{4}}", "0.75", true},
      {"3/4", "0.75", true},
      {"0.3333333", "1/3", true},
      {"0.33", "1/3", false},
      {"0.333", "1/3", false},
      {"1/3", "0.3333333", true},
      {"2/3", "0.6666667", true},
      {"0.5", "0.50001", false},
      {"1000000", "1000001", false},
      {"999,000", "999,001", false},
      {"0.1", "1/10", true},
      {"1/-2", "-0.5", true},
      {"\\frac{-1}{2}", "-1/2", true},
      {"-\\frac{1}{2}", "-0.5", true},
      {"x = 5", "5", true},
      {"x = 6", "5", false},
      {"She makes 18 dollars", "18", true},
      {"2^{10}", "10", false},
      {"2^{10}", "2", false},
      {"5cm", "5", true},  // a unit glued to the number
      {"5 cm", "5", true},
      {"90^\\circ", "90", true},
      {"yes", "Yes", true},
      {"\\text{Yes}", "yes", true},
      {"x + 1", "x+1", true},
      {"x^{2}", "x^2", true},
      {"(1, 2)", "(1,2)", true},
      {"(1, 3)", "(1,2)", false},
      {"\\pi", "\\pi", true},
      {"\\pi", "3.14159", false},
      {"", "5", false},
      {"5", "", false},
      {"1/0", "1/0", true},  // not a number; equal as text
      {"1/0", "5", false},
      {"1e5", "100000", false},
      {std::string(3000, '9'), std::string(3000, '9'), true},
      {"0" + std::string(3000, '9'), std::string(3000, '9'), true},
      {std::string(3000, '9') + ".000", std::string(3000, '9'), true},
      {std::string(3000, '9'), std::string(2999, '9') + "8", false},
      {"1/" + std::string(40, '3'), "1/" + std::string(40, '3'), true},
  };
  for (const EqCase& c : cases) {
    EXPECT_EQ(AnswersEquivalent(c.candidate, c.reference), c.equal)
        << "candidate \"" << c.candidate.substr(0, 60) << "\" reference \""
        << c.reference.substr(0, 60) << "\"";
  }
}

}  // namespace
}  // namespace r1
