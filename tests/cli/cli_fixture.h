// Shared fixture of the CLI tests that run the built `r1` binary on a tiny model: a temp
// directory per test, Run (ARGS < stdin -> exit code, stdout, stderr, stdout as JSON lines), and
// MakeModel (a tiny byte-vocabulary model made by `r1 model init`).
#ifndef R1_TESTS_CLI_CLI_FIXTURE_H_
#define R1_TESTS_CLI_CLI_FIXTURE_H_

#include <stdlib.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "gtest/gtest.h"

namespace r1 {

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

}  // namespace r1

#endif  // R1_TESTS_CLI_CLI_FIXTURE_H_
