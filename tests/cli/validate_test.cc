// Runs the built `r1 validate` as a user would: exit codes, the printed DAG, every error listed,
// and no side effects.
#include <string>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_r1.h"

namespace r1 {
namespace {

using testing_util::MergedOutput;
using testing_util::R1Result;
using testing_util::RunR1;

using ::testing::HasSubstr;
using ::testing::Not;

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
  R1Result r = RunR1("validate " + config, MergedOutput());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(config + ": OK\n"));
  // The stage count follows the config; the DAG order puts pretrain first.
  EXPECT_THAT(r.out, ::testing::ContainsRegex("stages \\([0-9]+, in order\\):\n  1\\. pretrain "
                                              "\\[pretrain -> model\\]\n"));
  EXPECT_THAT(r.out, HasSubstr("grpo_all_scenarios [grpo -> model]\n"
                               "      depends_on: sft_rs, reward_model\n"));
  EXPECT_THAT(r.out, HasSubstr(". eval_grpo_all_scenarios [eval -> report]"));
  EXPECT_EQ(PathExists(cwd_run), existed);  // no run directory created
}

TEST(ValidateCliTest, QwenExampleAndBuiltInDefaultAreValid) {
  R1Result q = RunR1("validate " + std::string(R1_SOURCE_DIR) + "/configs/qwen2.5-0.5b-gsm8k.yaml",
                     MergedOutput());
  EXPECT_EQ(q.exit_code, 0) << q.out;
  EXPECT_THAT(q.out, HasSubstr("cluster: external via srun, disaggregated"));
  R1Result d = RunR1("validate", MergedOutput());
  EXPECT_EQ(d.exit_code, 0) << d.out;
  EXPECT_THAT(d.out, HasSubstr("(built-in tiny-r1): OK"));
}

TEST(ValidateCliTest, PrintResolvedShowsEveryField) {
  R1Result r = RunR1("validate --print-resolved", MergedOutput());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("# resolved config\n"));
  EXPECT_THAT(r.out, HasSubstr("kl_estimator: \"k3\""));
  EXPECT_THAT(r.out, HasSubstr("heartbeat_interval_s: 2"));
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
  R1Result r = RunR1("validate " + path, MergedOutput());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr(path + ": 2 error(s):\n"));
  EXPECT_THAT(r.out, HasSubstr("  stages[3].depends_on: unknown stage \"nope\"\n"));
  EXPECT_THAT(r.out, HasSubstr("  stages[1].grpo.group_size: must be >= 2, got 1\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("OK")));
}

TEST(ValidateCliTest, UnknownKeyAndCycle) {
  std::string typo = WriteConfig("typo.yaml", "runn: {name: x}\n");
  R1Result r = RunR1("validate " + typo, MergedOutput());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("runn: unknown key (did you mean \"run\"?)"));

  std::string cycle = WriteConfig("cycle.yaml", R"(model: {path: /m}
datasets: {g: {path: /g.jsonl, format: gsm8k}}
stages:
  - {name: a, type: sft, depends_on: [b], inputs: {datasets: [g]}}
  - {name: b, type: sft, depends_on: [a], inputs: {datasets: [g]}}
)");
  R1Result c = RunR1("validate " + cycle, MergedOutput());
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_THAT(c.out, HasSubstr("stages: dependency cycle a -> b -> a"));
}

TEST(ValidateCliTest, TlsBlockNeedsAllThreeReadableFiles) {
  const std::string tls = std::string(R1_SOURCE_DIR) + "/tests/data/tls";
  const std::string base =
      "model: {path: /m}\ndatasets: {g: {path: /g.jsonl, format: gsm8k}}\n"
      "stages: [{name: a, type: sft, inputs: {datasets: [g]}}]\n";
  R1Result good = RunR1(
      "validate " + WriteConfig("tls_good.yaml", base + "cluster: {tls: {cert: " + tls +
                                                     "/node1.pem, key: " + tls +
                                                     "/node1.key, ca: " + tls + "/ca1.pem}}\n"),
      MergedOutput());
  EXPECT_EQ(good.exit_code, 0) << good.out;
  // Relative paths are relative to the config file: the missing file is named resolved.
  const std::string missing_config =
      WriteConfig("tls_missing.yaml", base + "cluster: {tls: {cert: missing.pem, key: " + tls +
                                          "/node1.key, ca: " + tls + "/ca1.pem}}\n");
  R1Result missing = RunR1("validate " + missing_config, MergedOutput());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("cluster.tls.cert: cannot read " +
                                     JoinPath(::testing::TempDir(), "validate_test/missing.pem") +
                                     ": No such file or directory"));
  R1Result partial =
      RunR1("validate " + WriteConfig("tls_partial.yaml",
                                      base + "cluster: {tls: {ca: " + tls + "/ca1.pem}}\n"),
            MergedOutput());
  EXPECT_EQ(partial.exit_code, 1);
  EXPECT_THAT(partial.out,
              HasSubstr("cluster.tls.cert: required when cluster.tls is given (cert, key and ca)"));
  EXPECT_THAT(partial.out, HasSubstr("cluster.tls.key: required"));
}

TEST(ValidateCliTest, UsageErrors) {
  R1Result missing = RunR1("validate /nonexistent/config.yaml", MergedOutput());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("/nonexistent/config.yaml"));
  R1Result two = RunR1("validate a.yaml b.yaml", MergedOutput());
  EXPECT_EQ(two.exit_code, 2);
  R1Result bad_flag = RunR1("validate --frobnicate", MergedOutput());
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_THAT(bad_flag.out, HasSubstr("frobnicate"));
  R1Result help = RunR1("validate --help", MergedOutput());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("usage: r1 validate"));
}

}  // namespace
}  // namespace r1
