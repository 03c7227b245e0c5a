// Runs the built `r1 generate` on a tiny model: greedy, stop tokens, seeds across batches, bad
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
#include "tests/cli/cli_fixture.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

std::vector<int> Ids(const nlohmann::json& line) { return line["ids"].get<std::vector<int>>(); }

TEST_F(CliTest, GreedyGenerationFromText) {
  const std::string model = MakeModel();
  const std::string args =
      "generate --model " + model + " --temperature 0 --max-new-tokens 6 --ignore-eos";
  RunResult r = Run(args, "{\"prompt\": \"hello\"}\n{\"prompt_ids\": [104, 101, 108, 108, 111]}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(Ids(r.lines[0]).size(), 6u);
  EXPECT_EQ(r.lines[0]["finish_reason"], "length");
  EXPECT_EQ(r.lines[0]["logprobs"].size(), 6u);
  EXPECT_TRUE(r.lines[0]["text"].is_string());
  EXPECT_EQ(Ids(r.lines[0]), Ids(r.lines[1]));  // "hello" is those bytes
  // Stop at the third greedy token: ids end there, the stop token included.
  const int stop = Ids(r.lines[0])[2];
  RunResult s = Run(args + " --stop " + std::to_string(stop), "{\"prompt\": \"hello\"}\n");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  std::vector<int> expected = Ids(r.lines[0]);
  expected.resize(std::find(expected.begin(), expected.end(), stop) - expected.begin() + 1);
  EXPECT_EQ(Ids(s.lines[0]), expected);
  EXPECT_EQ(s.lines[0]["finish_reason"], "stop");
}

TEST_F(CliTest, SeededLinesAreReproducibleInAnyBatch) {
  const std::string model = MakeModel();
  const std::string line = "{\"prompt\": \"ab\", \"seed\": 5, \"max_new_tokens\": 8}\n";
  RunResult alone = Run("generate --ignore-eos --model " + model, line);
  RunResult mixed = Run("generate --ignore-eos --model " + model + " --top-k 50",
                        "{\"prompt\": \"x\", \"max_new_tokens\": 3}\n" + line +
                            "{\"prompt\": \"a longer prompt\", \"temperature\": 0.5}\n");
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  ASSERT_EQ(mixed.lines.size(), 3u);
  EXPECT_EQ(Ids(mixed.lines[0]).size(), 3u);
  // Line 2 has top-k 50 from the command line in `mixed`: compare with the same setting alone.
  RunResult alone_k = Run("generate --ignore-eos --top-k 50 --model " + model, line);
  EXPECT_EQ(Ids(alone_k.lines[0]), Ids(mixed.lines[1]));
  EXPECT_EQ(Ids(alone.lines[0]).size(), 8u);
  // Same seed, same line, same options: same tokens.
  EXPECT_EQ(Ids(Run("generate --ignore-eos --model " + model, line).lines[0]), Ids(alone.lines[0]));
}

TEST_F(CliTest, GenerateBadLinesNameTheLine) {
  const std::string model = MakeModel();
  RunResult r = Run("generate --model " + model,
                    "{\"prompt\": \"a\", \"max_new_tokens\": 1}\n{\"text\": 1}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin line 2: expected a \"prompt\""));
  r = Run("generate --model " + model, "{\"prompt\": \"a\", \"top_p\": 2}\n");
  EXPECT_THAT(r.err, HasSubstr("stdin line 1: top_p 2"));
  r = Run("generate --model " + model, "{\"prompt_ids\": [999]}\n");
  EXPECT_THAT(r.err, HasSubstr("prompt_ids[0] = 999"));
  EXPECT_EQ(Run("generate --model " + model + " --top-k x").exit_code, 2);
  EXPECT_EQ(Run("generate").exit_code, 2);
}

}  // namespace
}  // namespace r1
