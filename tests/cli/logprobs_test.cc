// Runs the built `r1 logprobs` on a tiny model made by `r1 model init`: values, batching, bad
// lines.
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::vector<nlohmann::json> lines;  // stdout parsed as JSON lines
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/r1_model_cli_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }

  // Runs `r1 ARGS < stdin_text` with one thread.
  RunResult Run(const std::string& args, const std::string& stdin_text = "") {
    RunResult r;
    const std::string in = dir_ + "/in.jsonl", out = dir_ + "/out.jsonl", err = dir_ + "/err.txt";
    EXPECT_TRUE(WriteFileAtomic(in, stdin_text).ok());
    const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 R1_THREADS=1 ") + R1_BINARY_DIR +
                            "/cli/r1 " + args + " < " + in + " > " + out + " 2> " + err;
    const int status = std::system(cmd.c_str());
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(out).value_or("");
    r.err = ReadFile(err).value_or("");
    for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
      r.lines.push_back(nlohmann::json::parse(line, nullptr, false));
    }
    return r;
  }

  // A tiny byte-vocabulary qwen2 model directory at dir_/model (seed `seed`).
  std::string MakeModel(int seed = 1) {
    const std::string config = dir_ + "/config.json", model = dir_ + "/model";
    EXPECT_TRUE(WriteFileAtomic(config, kTinyConfig).ok());
    RunResult r = Run("model init --config " + config + " --out " + model +
                      " --tokenizer byte --seed " + std::to_string(seed));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return model;
  }

  static constexpr char kTinyConfig[] = R"({"model_type": "qwen2", "vocab_size": 264,
      "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "initializer_range": 0.3})";
  std::string dir_;
};

TEST_F(CliTest, LogprobsPerResponseToken) {
  const std::string model = MakeModel();
  RunResult r = Run("logprobs --model " + model + " --batch-size 2",
                    "{\"prompt_ids\": [104, 105], \"response_ids\": [33, 10, 257]}\n\n"
                    "{\"prompt_ids\": [1], \"response_ids\": [33]}\n"
                    "{\"prompt_ids\": [104, 105], \"response_ids\": [33]}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 3u);
  ASSERT_EQ(r.lines[0]["logprobs"].size(), 3u);
  ASSERT_EQ(r.lines[1]["logprobs"].size(), 1u);
  for (const auto& line : r.lines) {
    for (const auto& v : line["logprobs"]) EXPECT_LT(v.get<double>(), 0.0);
  }
  // Causal: later response tokens do not change earlier log-probs; batches do not either.
  EXPECT_NEAR(r.lines[0]["logprobs"][0].get<double>(), r.lines[2]["logprobs"][0].get<double>(),
              1e-5);
  // A different context gives a different log-prob of the same token.
  EXPECT_GT(
      std::abs(r.lines[0]["logprobs"][0].get<double>() - r.lines[1]["logprobs"][0].get<double>()),
      1e-6);
}

TEST_F(CliTest, LogprobsBadLinesNameTheLine) {
  const std::string model = MakeModel();
  RunResult r = Run("logprobs --model " + model,
                    "{\"prompt_ids\": [1], \"response_ids\": [2]}\n"
                    "{\"prompt_ids\": [1], \"response_ids\": [264]}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin line 2: response_ids[0] = 264"));
  r = Run("logprobs --model " + model, "{\"prompt_ids\": [], \"response_ids\": [2]}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin line 1: empty prompt_ids"));
  r = Run("logprobs --model " + model, "not json\n");
  EXPECT_THAT(r.err, HasSubstr("stdin line 1: not a JSON object"));
  r = Run("logprobs --model " + dir_ + "/nowhere", "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("nowhere"));
  EXPECT_EQ(Run("logprobs").exit_code, 2);
}

}  // namespace
}  // namespace r1
