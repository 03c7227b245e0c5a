// Shared fixture of the CLI tests that run the built `r1` binary on a tiny model: a temp
// directory per test, Run (ARGS < stdin -> exit code, stdout, stderr, stdout as JSON lines; r1 is
// run by tests/run_r1.h), and MakeModel (a tiny byte-vocabulary model made by `r1 model init`).
#ifndef R1_TESTS_CLI_CLI_FIXTURE_H_
#define R1_TESTS_CLI_CLI_FIXTURE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/file_util.h"
#include "gtest/gtest.h"
#include "tests/run_r1.h"
#include "tests/test_util.h"

namespace r1 {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::vector<nlohmann::json> lines;  // stdout parsed as JSON lines
};

// `run` with its stdout parsed as JSON lines (testing_util::JsonLines).
inline RunResult WithJsonLines(testing_util::R1Result run) {
  std::vector<nlohmann::json> lines = testing_util::JsonLines(run.out);
  return RunResult{run.exit_code, std::move(run.out), std::move(run.err), std::move(lines)};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_util::ScratchDir("r1_cli"); }

  // Runs `r1 ARGS < stdin_text` with one thread.
  RunResult Run(const std::string& args, const std::string& stdin_text = "") {
    testing_util::R1Options options;
    options.stdin_text = stdin_text;
    return WithJsonLines(testing_util::RunR1(args, options));
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

}  // namespace r1

#endif  // R1_TESTS_CLI_CLI_FIXTURE_H_
