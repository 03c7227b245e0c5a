// Subprocess: exit codes, signals, bounded waits, log files and process-group termination.
#include "base/subprocess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "base/file_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

TEST(SubprocessTest, ReportsExitCode) {
  absl::StatusOr<Subprocess> p = Subprocess::Spawn({"/bin/sh", "-c", "exit 3"});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<ExitInfo> exit = p->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_EQ(exit->ToString(), "exit code 3");
  EXPECT_FALSE(p->running());
}

TEST(SubprocessTest, WaitTimesOutThenTerminateKillsTheGroup) {
  // The shell starts a grandchild; terminating the group must end both.
  const std::string pidfile = "/tmp/subprocess_test_" + std::to_string(getpid());
  absl::StatusOr<Subprocess> p =
      Subprocess::Spawn({"sh", "-c", "sleep 60 & echo $! > " + pidfile + "; wait"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(absl::IsDeadlineExceeded(p->Wait(absl::Milliseconds(300)).status()));
  EXPECT_TRUE(p->running());
  ExitInfo exit = p->Terminate(absl::Seconds(5));
  EXPECT_FALSE(exit.exited);
  EXPECT_EQ(exit.signal, SIGTERM);
  absl::StatusOr<std::string> grandchild = ReadFile(pidfile);
  ASSERT_TRUE(grandchild.ok());
  const pid_t pid = std::stoi(*grandchild);
  // The grandchild is gone (or a zombie about to be reaped by init) within a bounded time.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = kill(pid, 0) != 0;
    if (!gone) {
      absl::StatusOr<std::string> stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
      gone = !stat.ok() || stat->find(") Z") != std::string::npos;
    }
    if (!gone) usleep(50 * 1000);
  }
  EXPECT_TRUE(gone);
  unlink(pidfile.c_str());
}

TEST(SubprocessTest, AppendsOutputToTheLogFileAndSetsEnvironment) {
  const std::string log = "/tmp/subprocess_test_log_" + std::to_string(getpid());
  unlink(log.c_str());
  SpawnOptions options;
  options.log_file = log;
  options.env["R1_SUBPROCESS_TEST"] = "hello";
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Subprocess> p =
        Subprocess::Spawn({"sh", "-c", "echo $R1_SUBPROCESS_TEST; echo err >&2"}, options);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_TRUE(p->Wait(absl::Seconds(20)).ok());
  }
  absl::StatusOr<std::string> text = ReadFile(log);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "hello\nerr\nhello\nerr\n");
  unlink(log.c_str());
}

TEST(SubprocessTest, MissingProgramIsAClearError) {
  absl::StatusOr<Subprocess> p = Subprocess::Spawn({"r1-no-such-program-xyz"});
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("r1-no-such-program-xyz"));
  EXPECT_FALSE(Subprocess::Spawn({}).ok());
}

}  // namespace
}  // namespace r1
