// `r1 report` as a user runs it: on a real (small) run, with the default and an explicit --out;
// RUN_DIR/report.html written by `r1 run` itself, also when a stage fails, and only a warning
// when it cannot be written; and clear errors for a directory that is not a run, a bad option
// and a file that cannot be written.
#include <string>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_fixture.h"
#include "tests/cli/report_run.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ReportCliTest : public CliTest {};

TEST_F(ReportCliTest, RunWritesTheReportAndReportRewritesIt) {
  const std::string config = JoinPath(dir_, "run.yaml");
  ASSERT_TRUE(WriteFileAtomic(config, kReportRunYaml).ok());
  const std::string run_dir = JoinPath(dir_, "run");
  RunResult run = Run("run " + config + " --run-dir " + run_dir);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::string at_end = JoinPath(run_dir, "report.html");
  EXPECT_THAT(run.out, HasSubstr("report: " + at_end));
  absl::StatusOr<std::string> html = ReadFile(at_end);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, HasSubstr("<span id=\"run-state\">succeeded</span>"));

  // --out elsewhere; every part of the page is there.
  const std::string out = JoinPath(dir_, "copy.html");
  RunResult report = Run("report " + run_dir + " --out " + out + " --samples 2");
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_EQ(report.out, "wrote " + out + "\n");
  html = ReadFile(out);
  ASSERT_TRUE(html.ok());
  for (const char* stage : {"pretrain", "grpo", "eval"}) {
    EXPECT_THAT(*html, HasSubstr(std::string("data-stage=\"") + stage + "\"")) << stage;
  }
  EXPECT_THAT(*html, HasSubstr("data-from=\"pretrain\" data-to=\"grpo\""));
  EXPECT_THAT(*html, HasSubstr("<tr><td>eval</td><td>stage:grpo</td>"));
  EXPECT_THAT(*html, HasSubstr("data-metric=\"reward/format\""));
  EXPECT_THAT(*html, HasSubstr("data-metric=\"kl\""));
  EXPECT_THAT(*html, HasSubstr("Sampled rollouts at step 4 (2 of "));
  EXPECT_THAT(*html, Not(HasSubstr("<script")));

  // The default: RUN_DIR/report.html, replaced.
  ASSERT_TRUE(RemoveAll(at_end).ok());
  report = Run("report " + run_dir);
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(PathExists(at_end));

  // A report that cannot be written is a warning; the run (here a resume with nothing left to
  // do) still succeeds.
  ASSERT_TRUE(RemoveAll(at_end).ok());
  ASSERT_TRUE(MakeDirs(JoinPath(at_end, "in_the_way")).ok());
  RunResult resumed = Run("run --resume " + run_dir);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("warning: could not write the HTML report " + at_end));
}

TEST_F(ReportCliTest, FailedRunStillWritesItsReport) {
  std::string yaml = kReportRunYaml;
  // The eval reads a model that does not exist: the last stage fails.
  const std::string from = "inputs: {model: \"stage:grpo\", datasets: [held_out]}";
  ASSERT_NE(yaml.find(from), std::string::npos);
  yaml.replace(yaml.find(from), from.size(),
               "inputs: {model: \"" + dir_ + "/no_such_model\", datasets: [held_out]}");
  const std::string config = JoinPath(dir_, "run.yaml");
  ASSERT_TRUE(WriteFileAtomic(config, yaml).ok());
  const std::string run_dir = JoinPath(dir_, "run");
  RunResult run = Run("run " + config + " --run-dir " + run_dir);
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  absl::StatusOr<std::string> html = ReadFile(JoinPath(run_dir, "report.html"));
  ASSERT_TRUE(html.ok()) << run.out << run.err;
  EXPECT_THAT(*html, HasSubstr("<span id=\"run-state\">failed</span>"));
  EXPECT_THAT(*html, HasSubstr("attempt 1 failed: "));
  EXPECT_THAT(*html, HasSubstr("no_such_model"));
}

TEST_F(ReportCliTest, ClearErrors) {
  RunResult missing = Run("report " + JoinPath(dir_, "nope"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nope is not a run directory: no such directory"));
  RunResult not_run = Run("report " + dir_);
  EXPECT_EQ(not_run.exit_code, 1);
  EXPECT_THAT(not_run.err, HasSubstr("is not a run directory: it has no run.yaml"));
  EXPECT_FALSE(PathExists(JoinPath(dir_, "report.html")));

  RunResult no_dir = Run("report");
  EXPECT_EQ(no_dir.exit_code, 2);
  EXPECT_THAT(no_dir.err, HasSubstr("expected exactly one RUN_DIR"));
  EXPECT_THAT(no_dir.err, HasSubstr("usage: r1 report RUN_DIR"));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "run.yaml"), "run: {name: x}\n").ok());
  EXPECT_EQ(Run("report " + dir_ + " --samples many").exit_code, 2);
  EXPECT_EQ(Run("report " + dir_ + " --colour red").exit_code, 2);
  RunResult unwritable = Run("report " + dir_ + " --out " + JoinPath(dir_, "no/such/dir/r.html"));
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_THAT(unwritable.err, HasSubstr("no/such/dir"));

  RunResult help = Run("report --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--out FILE.html"));
  EXPECT_THAT(Run("--help").out, HasSubstr("report "));
}

}  // namespace
}  // namespace r1
