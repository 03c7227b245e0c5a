// Runs the built `r1 validate` as a user would: exit codes, the printed DAG, every error listed,
// and no side effects.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Result RunR1(const std::string& args) {
  std::string command = std::string(R1_BINARY_DIR "/cli/r1 ") + args + " 2>&1";
  Result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), n);
  }
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string WriteConfig(const std::string& name, const std::string& text) {
  std::string dir = JoinPath(::testing::TempDir(), "validate_test");
  EXPECT_TRUE(MakeDirs(dir).ok());
  std::string path = JoinPath(dir, name);
  EXPECT_TRUE(WriteFileAtomic(path, text).ok());
  return path;
}

TEST(ValidateCliTest, TinyR1PrintsTheResolvedDagAndWritesNothing) {
  std::string config = std::string(R1_SOURCE_DIR) + "/configs/tiny-r1.yaml";
  std::string cwd_run = "runs/tiny-r1";
  bool existed = PathExists(cwd_run);
  Result r = RunR1("validate " + config);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(config + ": OK\n"));
  // The stage count follows the config; the DAG order puts pretrain first.
  EXPECT_THAT(r.output, ::testing::ContainsRegex("stages \\([0-9]+, in order\\):\n  1\\. pretrain "
                                                 "\\[pretrain -> model\\]\n"));
  EXPECT_THAT(r.output, HasSubstr("grpo_all_scenarios [grpo -> model]\n"
                                  "      depends_on: sft_rs, reward_model\n"));
  EXPECT_THAT(r.output, HasSubstr(". eval_grpo_all_scenarios [eval -> report]"));
  EXPECT_EQ(PathExists(cwd_run), existed);  // no run directory created
}

TEST(ValidateCliTest, QwenExampleAndBuiltInDefaultAreValid) {
  Result q = RunR1("validate " + std::string(R1_SOURCE_DIR) + "/configs/qwen2.5-0.5b-gsm8k.yaml");
  EXPECT_EQ(q.exit_code, 0) << q.output;
  EXPECT_THAT(q.output, HasSubstr("cluster: external via srun, disaggregated"));
  Result d = RunR1("validate");
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_THAT(d.output, HasSubstr("(built-in tiny-r1): OK"));
}

TEST(ValidateCliTest, PrintResolvedShowsEveryField) {
  Result r = RunR1("validate --print-resolved");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("# resolved config\n"));
  EXPECT_THAT(r.output, HasSubstr("kl_estimator: \"k3\""));
  EXPECT_THAT(r.output, HasSubstr("heartbeat_interval_s: 2"));
}

TEST(ValidateCliTest, InvalidConfigListsEveryErrorAndExits1) {
  std::string path = WriteConfig("bad.yaml", R"(model: {path: /m}
datasets: {g: {path: /g.jsonl, format: gsm8k}}
stages:
  - {name: sft, type: sft, inputs: {datasets: [g]}}
  - {name: rl, type: grpo, depends_on: [sft], inputs: {datasets: [g]}, grpo: {group_size: 1}}
  - {name: ev, type: eval, depends_on: [rl], inputs: {datasets: [g]}}
  - {name: x, type: eval, depends_on: [sft, nope], inputs: {datasets: [g]}}
)");
  Result r = RunR1("validate " + path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(path + ": 2 error(s):\n"));
  EXPECT_THAT(r.output, HasSubstr("  stages[3].depends_on: unknown stage \"nope\"\n"));
  EXPECT_THAT(r.output, HasSubstr("  stages[1].grpo.group_size: must be >= 2, got 1\n"));
  EXPECT_THAT(r.output, Not(HasSubstr("OK")));
}

TEST(ValidateCliTest, UnknownKeyAndCycle) {
  std::string typo = WriteConfig("typo.yaml", "runn: {name: x}\n");
  Result r = RunR1("validate " + typo);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("runn: unknown key (did you mean \"run\"?)"));

  std::string cycle = WriteConfig("cycle.yaml", R"(model: {path: /m}
datasets: {g: {path: /g.jsonl, format: gsm8k}}
stages:
  - {name: a, type: sft, depends_on: [b], inputs: {datasets: [g]}}
  - {name: b, type: sft, depends_on: [a], inputs: {datasets: [g]}}
)");
  Result c = RunR1("validate " + cycle);
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_THAT(c.output, HasSubstr("stages: dependency cycle a -> b -> a"));
}

TEST(ValidateCliTest, UsageErrors) {
  Result missing = RunR1("validate /nonexistent/config.yaml");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("/nonexistent/config.yaml"));
  Result two = RunR1("validate a.yaml b.yaml");
  EXPECT_EQ(two.exit_code, 2);
  Result bad_flag = RunR1("validate --frobnicate");
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_THAT(bad_flag.output, HasSubstr("frobnicate"));
  Result help = RunR1("validate --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("usage: r1 validate"));
}

}  // namespace
}  // namespace r1
