// Runs the built `r1 model init` as a user would: a HF directory, determinism, bad configs.
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

TEST_F(CliTest, InitWritesAHuggingFaceDirectoryDeterministically) {
  const std::string model = MakeModel(7);
  auto config = nlohmann::json::parse(ReadFile(model + "/config.json").value());
  EXPECT_EQ(config["architectures"][0], "Qwen2ForCausalLM");
  EXPECT_EQ(config["eos_token_id"], 257);  // from the byte tokenizer
  EXPECT_EQ(config["pad_token_id"], 256);
  EXPECT_EQ(config["head_dim"], 8);
  EXPECT_TRUE(PathExists(model + "/model.safetensors"));
  const std::string weights = ReadFile(model + "/model.safetensors").value();
  ASSERT_TRUE(RenameDirAtomic(model, dir_ + "/first").ok());
  MakeModel(7);
  EXPECT_EQ(ReadFile(model + "/model.safetensors").value(), weights);
  MakeModel(8);
  EXPECT_NE(ReadFile(model + "/model.safetensors").value(), weights);
}

TEST_F(CliTest, InitRejectsBadConfigs) {
  const std::string config = dir_ + "/bad.json";
  ASSERT_TRUE(WriteFileAtomic(config, R"({"model_type": "qwen2", "vocab_size": 264,
      "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 3})")
                  .ok());
  RunResult r = Run("model init --config " + config + " --out " + dir_ + "/m");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"num_key_value_heads\" = 3"));
  EXPECT_THAT(r.err, HasSubstr(config));
  EXPECT_FALSE(PathExists(dir_ + "/m"));
  // The byte tokenizer's 264 ids do not fit in 200.
  ASSERT_TRUE(WriteFileAtomic(config, R"({"model_type": "llama", "vocab_size": 200,
      "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
      "num_attention_heads": 4})")
                  .ok());
  r = Run("model init --config " + config + " --out " + dir_ + "/m --tokenizer byte");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("vocab_size is 200"));
  EXPECT_EQ(Run("model init --config " + config).exit_code, 2);
  EXPECT_EQ(Run("model init --config " + config + " --out x --seed abc").exit_code, 2);
  RunResult help = Run("model init --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("usage: r1 model init"));
}

}  // namespace
}  // namespace r1
