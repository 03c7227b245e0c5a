// Tests for the synthetic arithmetic, simple-task and preference generators: exact chains of
// thought for hand-worked cases, answers checked by an independent evaluator, determinism.
#include "pipeline/synthetic.h"

#include <cctype>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

TEST(SplitMix64Test, MatchesReferenceOutputs) {
  SplitMix64 rng(0);
  EXPECT_EQ(rng.Next(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(rng.Next(), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(rng.Next(), 0x06C45D188009454FULL);
}

TEST(SplitMix64Test, BetweenStaysInRangeAndCoversIt) {
  SplitMix64 rng(7);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    int64_t v = rng.Between(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(rng.Between(5, 5), 5);
}

TEST(ExampleSeedTest, DependsOnSeedAndIndex) {
  EXPECT_EQ(ExampleSeed(1, 2), ExampleSeed(1, 2));
  EXPECT_NE(ExampleSeed(1, 2), ExampleSeed(1, 3));
  EXPECT_NE(ExampleSeed(1, 2), ExampleSeed(2, 2));
}

std::string Thinking(std::vector<int64_t> operands, std::string ops) {
  auto p = SolveArithmetic(operands, ops);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? p->thinking : "";
}

TEST(SolveArithmeticTest, HandWorkedChainsOfThought) {
  EXPECT_EQ(Thinking({3, 4}, "+"), "3+4=7.");
  EXPECT_EQ(Thinking({47, 85}, "+"), "47+85: 7+5=12 carry 1, 4+8+1=13 carry 1, so 132.");
  EXPECT_EQ(Thinking({347, 85}, "+"), "347+85: 7+5=12 carry 1, 4+8+1=13 carry 1, 3+1=4, so 432.");
  EXPECT_EQ(Thinking({99, 1}, "+"), "99+1: 9+1=10 carry 1, 9+1=10 carry 1, so 100.");
  EXPECT_EQ(Thinking({503, 47}, "-"), "503-47: 13-7=6 borrow 1, 10-1-4=5 borrow 1, 5-1=4, so 456.");
  EXPECT_EQ(Thinking({47, 85}, "-"), "47-85: 85-47: 15-7=8 borrow 1, 8-1-4=3, so 38, negated -38.");
  EXPECT_EQ(Thinking({34, 5}, "*"), "34*5: 4*5=20 carry 2, 3*5+2=17 carry 1, so 170.");
  EXPECT_EQ(Thinking({7, 34}, "*"), "7*34: 34*7: 4*7=28 carry 2, 3*7+2=23 carry 2, so 238.");
  EXPECT_EQ(Thinking({347, 26}, "*"), "347*26: 347*20=6940, 347*6=2082, 6940+2082=9022.");
  EXPECT_EQ(Thinking({12, 30}, "*"), "12*30: 12*30=360, so 360.");
  EXPECT_EQ(Thinking({12, 34, 5}, "+*"),
            "34*5: 4*5=20 carry 2, 3*5+2=17 carry 1, so 170. 12+170: 2+0=2, 1+7=8, so 182.");
  auto p = SolveArithmetic({5, 9, 3}, "-+");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->thinking, "5-9=-4. -4+3=-1.");
  EXPECT_EQ(p->terse_thinking, "5-9=-4. -4+3=-1.");
  EXPECT_EQ(p->result, -1);
  auto q = SolveArithmetic({12, 34, 5}, "+*");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->terse_thinking, "34*5=170. 12+170=182.");
  EXPECT_TRUE(p->went_negative);
  EXPECT_EQ(p->expression, "5-9+3");
}

TEST(SolveArithmeticTest, RejectsBadInput) {
  EXPECT_FALSE(SolveArithmetic({1}, "").ok());
  EXPECT_FALSE(SolveArithmetic({1, 2}, "/").ok());
  EXPECT_FALSE(SolveArithmetic({1, -2}, "+").ok());
  auto big = SolveArithmetic({999999999999, 999999999999}, "*");
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr("overflows"));
}

// Independent evaluator for "What is EXPR?" with * before + and -.
int64_t Evaluate(const std::string& prompt) {
  const std::string prefix = "What is ";
  EXPECT_EQ(prompt.substr(0, prefix.size()), prefix);
  EXPECT_EQ(prompt.back(), '?');
  std::string expr = prompt.substr(prefix.size(), prompt.size() - prefix.size() - 1);
  std::vector<int64_t> values;
  std::vector<char> ops;
  size_t i = 0;
  while (i < expr.size()) {
    if (std::isdigit(static_cast<unsigned char>(expr[i]))) {
      int64_t v = 0;
      while (i < expr.size() && std::isdigit(static_cast<unsigned char>(expr[i]))) {
        v = v * 10 + (expr[i++] - '0');
      }
      values.push_back(v);
    } else {
      ops.push_back(expr[i++]);
    }
  }
  EXPECT_EQ(values.size(), ops.size() + 1) << expr;
  std::vector<int64_t> terms = {values[0]};
  std::vector<char> term_ops;
  for (size_t k = 0; k < ops.size(); ++k) {
    if (ops[k] == '*') {
      terms.back() *= values[k + 1];
    } else {
      terms.push_back(values[k + 1]);
      term_ops.push_back(ops[k]);
    }
  }
  int64_t acc = terms[0];
  for (size_t k = 0; k < term_ops.size(); ++k) {
    acc = term_ops[k] == '+' ? acc + terms[k + 1] : acc - terms[k + 1];
  }
  return acc;
}

const std::regex kR1Format("^<think>[^<]+</think><answer>(-?[0-9]+)</answer>$");

TEST(GenerateArithmeticTest, EveryAnswerIsCorrectAndShort) {
  auto examples = GenerateArithmetic({}, 42, 500);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 500u);
  std::set<char> ops_seen;
  for (const Example& ex : *examples) {
    EXPECT_EQ(ex.reference, std::to_string(Evaluate(ex.prompt))) << ex.prompt;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(ex.solution, m, kR1Format)) << ex.solution;
    EXPECT_EQ(m[1].str(), ex.reference);
    EXPECT_LT(ex.solution.size(), 200u) << ex.solution;
    EXPECT_EQ(ex.task, "arithmetic");
    for (char c : ex.prompt) {
      if (c == '+' || c == '-' || c == '*') ops_seen.insert(c);
    }
    // The thinking ends with the answer.
    EXPECT_THAT(ex.solution, HasSubstr(ex.reference + ".</think>"));
  }
  EXPECT_EQ(ops_seen.size(), 3u);
  EXPECT_EQ((*examples)[0].id, "arithmetic-42-0");
}

TEST(GenerateArithmeticTest, LongerProblemsAreCorrect) {
  ArithmeticOptions options;
  options.min_digits = 1;
  options.max_digits = 3;
  options.min_operands = 2;
  options.max_operands = 6;
  auto examples = GenerateArithmetic(options, 3, 500);
  ASSERT_TRUE(examples.ok()) << examples.status();
  for (const Example& ex : *examples) {
    EXPECT_EQ(ex.reference, std::to_string(Evaluate(ex.prompt))) << ex.prompt;
    ASSERT_TRUE(std::regex_match(ex.solution, kR1Format)) << ex.solution;
  }
}

TEST(GenerateArithmeticTest, NonNegativeOption) {
  ArithmeticOptions options;
  options.operators = "-";
  options.max_operands = 3;
  options.allow_negative = false;
  auto examples = GenerateArithmetic(options, 9, 200);
  ASSERT_TRUE(examples.ok()) << examples.status();
  for (const Example& ex : *examples) {
    EXPECT_GE(Evaluate(ex.prompt), 0) << ex.prompt;
    EXPECT_EQ(ex.solution.find("=-"), std::string::npos) << ex.solution;
    EXPECT_EQ(ex.solution.find("negated"), std::string::npos) << ex.solution;
  }
}

// terse_percent: about that share of solutions skip the working; the problems do not change.
TEST(GenerateArithmeticTest, TersePercentMixesStylesOverTheSameProblems) {
  ArithmeticOptions worked;
  worked.min_digits = 2;
  worked.max_digits = 2;
  worked.operators = "+-";
  ArithmeticOptions mixed = worked;
  mixed.terse_percent = 40;
  auto a = GenerateArithmetic(worked, 5, 500);
  auto b = GenerateArithmetic(mixed, 5, 500);
  ASSERT_TRUE(a.ok() && b.ok());
  int terse = 0;
  for (size_t i = 0; i < 500; ++i) {
    const Example& w = (*a)[i];
    const Example& m = (*b)[i];
    EXPECT_EQ(w.prompt, m.prompt);
    EXPECT_EQ(w.reference, m.reference);
    EXPECT_THAT(w.solution, HasSubstr(", so "));  // two-digit operands: always worked
    if (m.solution == w.solution) continue;
    ++terse;
    // "<think>47+85=132.</think><answer>132</answer>"
    const std::string expression = m.prompt.substr(8, m.prompt.size() - 9);
    EXPECT_EQ(m.solution, absl::StrCat("<think>", expression, "=", m.reference, ".</think><answer>",
                                       m.reference, "</answer>"));
  }
  EXPECT_GT(terse, 160);
  EXPECT_LT(terse, 240);
  mixed.terse_percent = 101;
  auto bad = GenerateArithmetic(mixed, 5, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("terse_percent = 101"));
}

TEST(GenerateArithmeticTest, DeterministicPerSeedAndPrefixStable) {
  auto a = GenerateArithmetic({}, 1, 50);
  auto b = GenerateArithmetic({}, 1, 50);
  auto c = GenerateArithmetic({}, 2, 50);
  auto prefix = GenerateArithmetic({}, 1, 10);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && prefix.ok());
  int differing = 0;
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_EQ((*a)[i].prompt, (*b)[i].prompt);
    EXPECT_EQ((*a)[i].solution, (*b)[i].solution);
    if ((*a)[i].prompt != (*c)[i].prompt) ++differing;
    if (i < 10) EXPECT_EQ((*a)[i].prompt, (*prefix)[i].prompt);
  }
  EXPECT_GT(differing, 40);
}

TEST(GenerateArithmeticTest, OptionsAreValidated) {
  ArithmeticOptions o;
  o.max_digits = 12;
  auto r = GenerateArithmetic(o, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("max_digits = 12"));
  o = {};
  o.operators = "+/";
  r = GenerateArithmetic(o, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("'/' is not one of + - *"));
  o = {};
  o.max_digits = 9;
  o.max_operands = 3;
  EXPECT_FALSE(GenerateArithmetic(o, 1, 1).ok());  // 27 digits of product
  EXPECT_FALSE(GenerateArithmetic({}, 1, -1).ok());
}

// Independent answer for a simple-task prompt.
std::string SimpleAnswer(const Example& ex, const std::string& name) {
  const std::string& p = ex.prompt;
  auto after = [&p](const std::string& prefix) {
    EXPECT_EQ(p.substr(0, prefix.size()), prefix) << p;
    return p.substr(prefix.size());
  };
  if (ex.task == "echo") return after("Repeat: ");
  if (ex.task == "reverse") {
    std::string w = after("Reverse the word: ");
    return std::string(w.rbegin(), w.rend());
  }
  if (ex.task == "uppercase") {
    std::string w = after("Uppercase: ");
    for (char& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return w;
  }
  if (ex.task == "successor") {
    if (p.find("letter") != std::string::npos) {
      std::string rest = after("What comes after the letter ");
      return std::string(1, static_cast<char>(rest[0] + 1));
    }
    return std::to_string(std::stoi(after("What comes after ")) + 1);
  }
  if (ex.task == "greeting") return "Hello! How can I help you today?";
  if (ex.task == "identity") return "I am " + name + ", an AI assistant. How can I help you?";
  ADD_FAILURE() << "unknown task " << ex.task;
  return "";
}

TEST(GenerateSimpleTasksTest, AnswersAreDirectAndCorrect) {
  SimpleTaskOptions options;
  options.assistant_name = "Tiny";
  auto examples = GenerateSimpleTasks(options, 5, 300);
  ASSERT_TRUE(examples.ok()) << examples.status();
  std::set<std::string> tasks;
  for (const Example& ex : *examples) {
    tasks.insert(ex.task);
    EXPECT_EQ(ex.reference, SimpleAnswer(ex, "Tiny")) << ex.prompt;
    EXPECT_EQ(ex.solution, ex.reference);
    EXPECT_EQ(ex.solution.find("<think>"), std::string::npos);
  }
  EXPECT_EQ(tasks.size(), SimpleTaskNames().size());
  auto again = GenerateSimpleTasks(options, 5, 300);
  auto other = GenerateSimpleTasks(options, 6, 300);
  ASSERT_TRUE(again.ok() && other.ok());
  int differing = 0;
  for (size_t i = 0; i < examples->size(); ++i) {
    EXPECT_EQ((*examples)[i].prompt, (*again)[i].prompt);
    if ((*examples)[i].prompt != (*other)[i].prompt) ++differing;
  }
  EXPECT_GT(differing, 200);
}

TEST(GenerateSimpleTasksTest, SubsetAndUnknownTask) {
  SimpleTaskOptions options;
  options.tasks = {"reverse"};
  auto examples = GenerateSimpleTasks(options, 1, 20);
  ASSERT_TRUE(examples.ok());
  for (const Example& ex : *examples) EXPECT_EQ(ex.task, "reverse");
  options.tasks = {"reverse", "sing"};
  auto bad = GenerateSimpleTasks(options, 1, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown simple task \"sing\""));
  EXPECT_THAT(bad.status().message(), HasSubstr("echo, reverse, uppercase"));
}

TEST(GeneratePreferencePairsTest, ChosenIsCorrectAndDiffersFromRejected) {
  auto pairs = GeneratePreferencePairs({}, 11, 300);
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  int arithmetic = 0;
  for (const PreferencePair& pair : *pairs) {
    EXPECT_NE(pair.chosen, pair.rejected) << pair.prompt;
    EXPECT_FALSE(pair.rejected.empty());
    if (std::regex_match(pair.prompt, std::regex("^What is [0-9].*"))) {
      ++arithmetic;
      std::smatch m;
      ASSERT_TRUE(std::regex_match(pair.chosen, m, kR1Format)) << pair.chosen;
      EXPECT_EQ(m[1].str(), std::to_string(Evaluate(pair.prompt)));
      std::smatch r;
      if (std::regex_search(pair.rejected, r, std::regex("<answer>(-?[0-9]+)</answer>"))) {
        EXPECT_NE(r[1].str(), m[1].str());
      }
    }
  }
  EXPECT_GT(arithmetic, 100);
  EXPECT_LT(arithmetic, 200);
  auto again = GeneratePreferencePairs({}, 11, 300);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[17].rejected, (*pairs)[17].rejected);
  PreferenceOptions bad;
  bad.arithmetic_percent = 101;
  EXPECT_FALSE(GeneratePreferencePairs(bad, 1, 1).ok());
}

}  // namespace
}  // namespace r1
