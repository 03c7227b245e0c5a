// Tests for countdown generation: every generated instance is solved by its stored solution (as
// the verifier of countdown_verifier.h judges it), deterministically per seed.
#include "pipeline/synthetic_countdown.h"

#include <regex>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/countdown_verifier.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

TEST(GenerateCountdownTest, EveryInstanceIsSolvedByItsSolution) {
  CountdownOptions options;
  auto examples = GenerateCountdown(options, 17, 400);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 400u);
  const std::regex format("^<think>[^<]+</think><answer>([^<]+)</answer>$");
  std::set<char> ops_used;
  for (const Example& ex : *examples) {
    EXPECT_EQ(ex.task, "countdown");
    auto ref = ParseCountdownReference(ex.reference);
    ASSERT_TRUE(ref.ok()) << ex.reference;
    EXPECT_GE(ref->target, options.min_target);
    EXPECT_LE(ref->target, options.max_target);
    EXPECT_GE(ref->numbers.size(), 3u);
    EXPECT_LE(ref->numbers.size(), 4u);
    for (int64_t n : ref->numbers) {
      EXPECT_GE(n, 1);
      EXPECT_LE(n, 25);
    }
    std::smatch m;
    ASSERT_TRUE(std::regex_match(ex.solution, m, format)) << ex.solution;
    std::string answer = m[1].str();
    CountdownVerdict v = VerifyCountdownAnswer(answer, ex.reference);
    EXPECT_TRUE(v.correct) << answer << " for " << ex.reference << ": " << v.reason;
    for (char c : answer) {
      if (c == '+' || c == '-' || c == '*' || c == '/') ops_used.insert(c);
    }
    EXPECT_THAT(ex.prompt, HasSubstr("make " + std::to_string(ref->target) + "."));
    // The last thinking step reaches the target.
    EXPECT_THAT(ex.solution, HasSubstr("=" + std::to_string(ref->target) + ".</think>"));
  }
  EXPECT_EQ(ops_used.size(), 4u);
}

TEST(GenerateCountdownTest, UseAllNumbersAndDeterminism) {
  CountdownOptions options;
  options.use_all_numbers = true;
  options.min_numbers = 4;
  options.max_numbers = 4;
  options.max_target = 1000;
  auto a = GenerateCountdown(options, 5, 100);
  auto b = GenerateCountdown(options, 5, 100);
  auto c = GenerateCountdown(options, 6, 100);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status();
  int differing = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].solution, (*b)[i].solution);
    if ((*a)[i].reference != (*c)[i].reference) ++differing;
    auto ref = ParseCountdownReference((*a)[i].reference);
    ASSERT_TRUE(ref.ok());
    std::smatch m;
    ASSERT_TRUE(std::regex_search((*a)[i].solution, m, std::regex("<answer>(.+)</answer>")));
    CountdownVerdict v = VerifyCountdown(m[1].str(), ref->numbers, ref->target, true);
    EXPECT_TRUE(v.correct) << m[1].str() << ": " << v.reason;
  }
  EXPECT_GT(differing, 90);
}

// Wrong tries change only the thinking: the same problems, the solution's steps last, and before
// them 0..max_wrong_tries distinct tries whose steps are correct arithmetic over the given numbers
// and whose last step names a value other than the target.
TEST(GenerateCountdownTest, WrongTriesPrecedeTheSolution) {
  CountdownOptions plain;
  plain.min_numbers = 2;
  plain.max_numbers = 3;
  plain.max_number = 15;
  plain.max_target = 45;
  plain.operators = "+-";
  CountdownOptions search = plain;
  search.max_wrong_tries = 3;
  auto a = GenerateCountdown(plain, 9, 300);
  auto b = GenerateCountdown(search, 9, 300);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  const std::regex think("<think>(.*)</think>");
  const std::regex step("(\\d+)([-+])(\\d+)=(\\d+)(, not (\\d+))?\\.");
  std::set<int> tries_seen;
  for (size_t i = 0; i < a->size(); ++i) {
    const Example& x = (*a)[i];
    const Example& y = (*b)[i];
    ASSERT_EQ(x.prompt, y.prompt);
    ASSERT_EQ(x.reference, y.reference);
    std::smatch mx, my;
    ASSERT_TRUE(std::regex_search(x.solution, mx, think));
    ASSERT_TRUE(std::regex_search(y.solution, my, think));
    const std::string plain_thinking = mx[1].str(), thinking = my[1].str();
    ASSERT_GE(thinking.size(), plain_thinking.size());
    ASSERT_EQ(thinking.substr(thinking.size() - plain_thinking.size()), plain_thinking);
    EXPECT_EQ(x.solution.substr(x.solution.find("</think>")),
              y.solution.substr(y.solution.find("</think>")));
    auto ref = ParseCountdownReference(y.reference);
    ASSERT_TRUE(ref.ok());
    const std::string tries = thinking.substr(0, thinking.size() - plain_thinking.size());
    int count = 0;
    std::set<std::string> distinct;
    std::string current;
    for (std::sregex_iterator it(tries.begin(), tries.end(), step), end; it != end; ++it) {
      const std::smatch& m = *it;
      const int64_t l = std::stoll(m[1].str()), r = std::stoll(m[3].str());
      EXPECT_EQ(std::stoll(m[4].str()), m[2].str() == "+" ? l + r : l - r) << tries;
      current += m[0].str();
      if (m[5].matched) {  // the last step of a try
        ++count;
        EXPECT_EQ(std::stoll(m[6].str()), ref->target) << tries;
        EXPECT_NE(std::stoll(m[4].str()), ref->target) << tries;
        EXPECT_TRUE(distinct.insert(current).second) << "repeated try in " << tries;
        current.clear();
      }
    }
    EXPECT_TRUE(current.empty()) << "a try without its \", not\" in " << tries;
    EXPECT_LE(count, 3) << tries;
    tries_seen.insert(count);
  }
  EXPECT_EQ(tries_seen, (std::set<int>{0, 1, 2, 3}));

  search.max_wrong_tries = 9;
  auto r = GenerateCountdown(search, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("max_wrong_tries = 9"));
}

TEST(GenerateCountdownTest, HandCheckedPromptAndOptionErrors) {
  CountdownProblem p{{3, 5, 25, 4}, 83, "(25-5)*4+3", "25-5=20. 20*4=80. 80+3=83."};
  Example ex = CountdownExample(p, "x");
  EXPECT_EQ(ex.prompt,
            "Using the numbers 3 5 25 4, make 83. Use + - * / and each number at most once.");
  EXPECT_EQ(ex.reference, "target=83;numbers=3,5,25,4");
  EXPECT_EQ(ex.solution, "<think>25-5=20. 20*4=80. 80+3=83.</think><answer>(25-5)*4+3</answer>");

  CountdownOptions bad;
  bad.operators = "+%";
  auto r = GenerateCountdown(bad, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("'%' is not one of + - * /"));
  bad = {};
  bad.max_numbers = 9;
  EXPECT_FALSE(GenerateCountdown(bad, 1, 1).ok());
  CountdownOptions impossible;  // 1+1 is the only value: target 50 is out of reach
  impossible.min_numbers = impossible.max_numbers = 2;
  impossible.min_number = impossible.max_number = 1;
  impossible.operators = "+";
  impossible.min_target = 50;
  impossible.max_target = 60;
  r = GenerateCountdown(impossible, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("no target in [50, 60]"));
}

}  // namespace
}  // namespace r1
