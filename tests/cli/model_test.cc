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
#include "tests/cli/cli_fixture.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

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
