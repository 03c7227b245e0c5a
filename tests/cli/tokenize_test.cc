// Runs the built `r1 tokenize` on temporary files as a user would: encode, decode, bad lines.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_r1.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::vector<std::string> out_lines;  // stdout split on '\n', without the final empty piece
};

class TokenizeCliTest : public ::testing::Test {
 protected:
  // Runs `r1 tokenize ARGS < stdin_text`.
  RunResult Run(const std::string& args, const std::string& stdin_text) {
    testing_util::R1Options options;
    options.stdin_text = stdin_text;
    testing_util::R1Result run = testing_util::RunR1("tokenize " + args, options);
    RunResult r{run.exit_code, std::move(run.out), std::move(run.err), {}};
    r.out_lines = absl::StrSplit(r.out, '\n');
    if (!r.out_lines.empty() && r.out_lines.back().empty()) r.out_lines.pop_back();
    return r;
  }
};

TEST_F(TokenizeCliTest, EncodesWithTheByteTokenizer) {
  RunResult r = Run("--tokenizer byte", "{\"text\": \"hi\"}\n\n{\"text\": \"<think>\\u00e9\"}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out_lines, ElementsAre(R"({"ids":[104,105]})", R"({"ids":[258,195,169]})"));
}

TEST_F(TokenizeCliTest, EncodesWithTheQwenTokenizer) {
  RunResult r = Run(std::string("--tokenizer ") + R1_TEST_DATA_DIR + "/tokenizers/qwen3",
                    "{\"text\": \"Hello world<|im_end|>\"}\n{\"text\": \"\"}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out_lines, ElementsAre(R"({"ids":[9707,1879,151645]})", R"({"ids":[]})"));
}

TEST_F(TokenizeCliTest, BadLineStopsWithItsNumber) {
  RunResult r = Run("--tokenizer byte", "{\"text\": \"a\"}\nnot json\n{\"text\": \"b\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out_lines, ElementsAre(R"({"ids":[97]})"));  // the line before was written
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  EXPECT_THAT(r.err, HasSubstr("invalid JSON"));

  r = Run("--tokenizer byte", "{\"text\": \"a\"}\n{\"txt\": \"b\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  EXPECT_THAT(r.err, HasSubstr("\"text\""));
}

TEST_F(TokenizeCliTest, Decodes) {
  RunResult r = Run("--tokenizer byte --decode",
                    "{\"ids\": [104, 105, 257]}\n{\"ids\": [230, 136]}\n{\"ids\": []}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out_lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(r.out_lines[0])["text"], "hi<|endoftext|>");
  EXPECT_EQ(nlohmann::json::parse(r.out_lines[1])["text"], "\xEF\xBF\xBD");  // cut character
  EXPECT_EQ(nlohmann::json::parse(r.out_lines[2])["text"], "");

  r = Run("--tokenizer byte --decode", "{\"ids\": [104]}\n{\"ids\": [104, 999]}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out_lines, ElementsAre(R"({"text":"h"})"));
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  EXPECT_THAT(r.err, HasSubstr("999"));

  r = Run("--tokenizer byte --decode", "{\"ids\": [1.5]}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ids[0]"));
}

TEST_F(TokenizeCliTest, EncodeThenDecodeRoundTrips) {
  const std::string text = "Solve: 12*7 = ?\\n<think>84</think> \\u6211 \\ud83d\\ude00";
  const std::string spec = std::string("--tokenizer ") + R1_TEST_DATA_DIR + "/tokenizers/qwen3";
  RunResult enc = Run(spec, "{\"text\": \"" + text + "\"}\n");
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  ASSERT_EQ(enc.out_lines.size(), 1u);
  RunResult dec = Run(spec + " --decode", enc.out);
  ASSERT_EQ(dec.exit_code, 0) << dec.err;
  ASSERT_EQ(dec.out_lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(dec.out_lines[0])["text"],
            nlohmann::json::parse("\"" + text + "\""));
}

TEST_F(TokenizeCliTest, UsageAndLoadErrors) {
  RunResult r = Run("", "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--tokenizer is required"));
  r = Run("--help", "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: r1 tokenize"));
  r = Run("--tokenizer byte --bogus", "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
  r = Run("--tokenizer /nonexistent/tok", "{\"text\": \"a\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/tok"));
}

}  // namespace
}  // namespace r1
