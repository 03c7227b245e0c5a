// The answer verifier on every GSM8K line (train + test): each reference answer, given as the full
// solution, as \boxed{N} and as <answer>N</answer>, grades correct; any other number grades wrong.
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "stages/rewards/accuracy.h"
#include "stages/rewards/math_answer.h"

namespace r1 {
namespace {

struct Gsm8kLine {
  std::string question;
  std::string answer;  // full solution ending "#### N"
};

std::vector<Gsm8kLine> ReadGsm8k(const std::string& path) {
  std::vector<Gsm8kLine> lines;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line);
    lines.push_back({j.at("question").get<std::string>(), j.at("answer").get<std::string>()});
  }
  return lines;
}

class Gsm8kVerifyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(Gsm8kVerifyTest, EveryReferenceGradesItselfAndRejectsOtherNumbers) {
  const std::vector<Gsm8kLine> lines =
      ReadGsm8k(absl::StrCat(R1_TEST_DATA_DIR, "/gsm8k/", GetParam()));
  ASSERT_GT(lines.size(), 1000u);
  const AccuracyOptions options;
  int failures = 0;
  for (size_t i = 0; i < lines.size() && failures < 20; ++i) {
    const std::string& ref = lines[i].answer;
    const std::string n = ExtractReferenceAnswer(ref);
    const std::string where = absl::StrCat(GetParam(), " line ", i + 1, " (#### ", n, ")");
    int64_t value = 0;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StrReplaceAll(n, {{",", ""}}), &value)) << where;

    const std::string right[] = {
        ref, absl::StrCat("\\boxed{", n, "}"), absl::StrCat("<answer>", n, "</answer>"),
        absl::StrCat("<think>", ref, "</think>\n<answer>", n, "</answer>")};
    for (const std::string& response : right) {
      if (!GradeMathAnswer(response, ref, options).correct) {
        ADD_FAILURE() << where << ": should be correct: " << response.substr(0, 200);
        ++failures;
      }
    }
    const size_t hashes = ref.rfind("####");
    for (int64_t wrong : {value + 1, value - 1, value * 10, -value - 3}) {
      if (wrong == value) continue;
      const std::string w = absl::StrCat(wrong);
      const std::string wrong_responses[] = {absl::StrCat("\\boxed{", w, "}"),
                                             absl::StrCat("<answer>", w, "</answer>"),
                                             absl::StrCat(ref.substr(0, hashes), "#### ", w)};
      for (const std::string& response : wrong_responses) {
        if (GradeMathAnswer(response, ref, options).correct) {
          ADD_FAILURE() << where << ": should be wrong: " << response.substr(0, 200);
          ++failures;
        }
      }
    }
    // The question as a response: no crash, any grade.
    (void)GradeMathAnswer(lines[i].question, ref, options);
  }
}

INSTANTIATE_TEST_SUITE_P(Files, Gsm8kVerifyTest, ::testing::Values("train.jsonl", "test.jsonl"));

}  // namespace
}  // namespace r1
