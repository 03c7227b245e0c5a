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
#include "tests/cli/cli_fixture.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

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

// `r1 generate` reports its samples' log-probs at its temperature, and `r1 logprobs --temperature`
// recomputes them.
TEST_F(CliTest, LogprobsAtTheGenerationTemperature) {
  const std::string model = MakeModel();
  RunResult g =
      Run("generate --ignore-eos --max-new-tokens 6 --seed 3 --temperature 0.5 --model " + model,
          "{\"prompt_ids\": [104, 105]}\n");
  ASSERT_EQ(g.exit_code, 0) << g.err;
  ASSERT_EQ(g.lines.size(), 1u);
  const nlohmann::json request = {{"prompt_ids", {104, 105}}, {"response_ids", g.lines[0]["ids"]}};
  RunResult tempered = Run("logprobs --temperature 0.5 --model " + model, request.dump() + "\n");
  RunResult plain = Run("logprobs --model " + model, request.dump() + "\n");
  ASSERT_EQ(tempered.exit_code, 0) << tempered.err;
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const nlohmann::json& sampled = g.lines[0]["logprobs"];
  ASSERT_EQ(tempered.lines[0]["logprobs"].size(), sampled.size());
  double largest_difference = 0.0;
  for (size_t t = 0; t < sampled.size(); ++t) {
    EXPECT_NEAR(tempered.lines[0]["logprobs"][t].get<double>(), sampled[t].get<double>(), 1e-4);
    largest_difference =
        std::max(largest_difference,
                 std::abs(plain.lines[0]["logprobs"][t].get<double>() - sampled[t].get<double>()));
  }
  EXPECT_GT(largest_difference, 1e-3);
  RunResult bad = Run("logprobs --temperature 0 --model " + model, "");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("temperature"));
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
