// Hostile input for the answer extractor and normaliser: random bytes, LaTeX-token soup, huge
// numbers, unbalanced and 100k-deep nested braces. No crash; all passes are linear by design
// (explicit stacks, no recursion), and a generous wall-clock guard catches a quadratic slip.
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "stages/rewards/accuracy.h"
#include "stages/rewards/format.h"
#include "stages/rewards/language.h"
#include "stages/rewards/math_answer.h"

namespace r1 {
namespace {

// Runs every text-processing entry point on `text` against two references.
void Exercise(const std::string& text) {
  ExtractedAnswer answer = ExtractAnswer(text);
  (void)NormalizeAnswer(text);
  (void)ExtractReferenceAnswer(text);
  (void)AnswersEquivalent(answer.text, "5");
  (void)AnswersEquivalent(text, text);
  (void)AnswersEquivalent("1/3", text);
  (void)GradeMathAnswer(text, "#### 18", AccuracyOptions{});
  (void)GradeMathAnswer("\\boxed{18}", text, AccuracyOptions{});
  (void)MatchesThinkAnswerFormat(text);
  (void)CountWordsByScript(text);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(AnswerRobustnessTest, RandomBytes) {
  std::mt19937 rng(1234);
  auto start = std::chrono::steady_clock::now();
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text(rng() % 300, '\0');
    for (char& c : text) c = static_cast<char>(rng() & 0xFF);
    Exercise(text);
  }
  EXPECT_LT(SecondsSince(start), 20.0);
}

TEST(AnswerRobustnessTest, TokenSoup) {
  const std::vector<std::string> tokens = {"\\boxed{", "\\boxed",
                                           "\\fbox{",  "{",
                                           "}",        "\\frac",
                                           "\\dfrac{", "\\frac{1}{2}",
                                           "<answer>", "</answer>",
                                           "<think>",  "</think>",
                                           "####",     "the answer is ",
                                           "A: ",      "\n",
                                           " ",        "0",
                                           "7",        "12,345",
                                           "-",        "\xE2\x88\x92",
                                           ".",        ",",
                                           "/",        "$",
                                           "%",        "\\text{",
                                           "^",        "^{\\circ}",
                                           "\\left(",  "\\right)",
                                           "\\,",      "\\",
                                           "=",        "x",
                                           "(",        ")",
                                           "{,}",      "\\%",
                                           "世",       "\xFF"};
  std::mt19937 rng(99);
  auto start = std::chrono::steady_clock::now();
  for (int iter = 0; iter < 5000; ++iter) {
    std::string text;
    const int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) text += tokens[rng() % tokens.size()];
    Exercise(text);
  }
  EXPECT_LT(SecondsSince(start), 20.0);
}

TEST(AnswerRobustnessTest, HugeNumbers) {
  std::mt19937 rng(7);
  std::string digits(5000, '0');
  for (char& c : digits) c = static_cast<char>('0' + rng() % 10);
  digits[0] = '7';
  std::string other = digits;
  other.back() = other.back() == '9' ? '8' : static_cast<char>(other.back() + 1);
  EXPECT_TRUE(AnswersEquivalent(digits, digits));
  EXPECT_TRUE(AnswersEquivalent("\\boxed{" + digits + "}", "000" + digits + ".0"));
  EXPECT_FALSE(AnswersEquivalent(digits, other));
  EXPECT_FALSE(AnswersEquivalent("-" + digits, digits));
  EXPECT_EQ(ExtractAnswer("so " + digits + " it is").text, digits);
  Exercise(digits + "/" + digits);
  Exercise("0." + digits);
  Exercise(digits + "." + digits + "/3");
  Exercise("\\frac{" + digits + "}{" + other + "}");
  // "1e99999"-like spellings and values that overflow long double must not compare equal.
  EXPECT_FALSE(AnswersEquivalent("1/0." + std::string(6000, '0') + "1",
                                 "1/0." + std::string(6000, '0') + "2"));
}

TEST(AnswerRobustnessTest, DeepNestingAndUnbalancedBraces) {
  constexpr int kDepth = 100'000;
  std::string nested_boxed;
  for (int i = 0; i < kDepth; ++i) nested_boxed += "\\boxed{";
  nested_boxed += "1";
  nested_boxed += std::string(kDepth, '}');
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ExtractAnswer(nested_boxed).text, "1");
  EXPECT_EQ(NormalizeAnswer(nested_boxed), "1");

  std::string nested_frac;
  for (int i = 0; i < kDepth; ++i) nested_frac += "\\frac{";
  nested_frac += "1";
  for (int i = 0; i < kDepth; ++i) nested_frac += "}{2}";
  Exercise(nested_frac);

  Exercise(std::string(kDepth, '{') + "5");
  Exercise("5" + std::string(kDepth, '}'));
  Exercise("\\boxed" + std::string(kDepth, '{') + "5");
  std::string many_boxed;
  for (int i = 0; i < kDepth; ++i) many_boxed += "\\boxed x";
  Exercise(many_boxed);
  std::string many_open;
  for (int i = 0; i < kDepth; ++i) many_open += "\\boxed{\\frac{(";
  Exercise(many_open);
  Exercise(std::string(kDepth, '(') + "1");
  std::string many_think;
  for (int i = 0; i < kDepth; ++i) many_think += "<think></think>  ";
  Exercise(many_think);
  EXPECT_LT(SecondsSince(start), 20.0);
}

}  // namespace
}  // namespace r1
