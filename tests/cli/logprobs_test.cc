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
