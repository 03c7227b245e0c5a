// Test helper for multi-process Communicator tests: the CTest process re-launches its own binary
// under `mpirun -np N --gtest_filter=<current test>` (posix_spawn, bounded wait); the ranks see
// R1_COMM_MPI_CHILD set and run the test body for real. Header-only, for tests/workers/comm_*.
#ifndef R1_TESTS_WORKERS_COMM_MPI_LAUNCHER_H_
#define R1_TESTS_WORKERS_COMM_MPI_LAUNCHER_H_

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace r1::testing_comm {

inline constexpr char kChildEnv[] = "R1_COMM_MPI_CHILD";
inline bool IsChild() { return std::getenv(kChildEnv) != nullptr; }

inline std::string CurrentTestName() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(info->test_suite_name(), ".", info->name());
}

// Runs `mpirun -np <np> <this binary> --gtest_filter=<test>` and waits at most `limit` (then
// SIGTERM, SIGKILL). OK iff mpirun exited 0.
inline absl::Status RunUnderMpirun(int np, const std::string& test, absl::Duration limit) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return absl::InternalError("readlink /proc/self/exe failed");
  self[n] = '\0';
  std::vector<std::string> args = {
      "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", std::to_string(np),
      // Shared memory only: works without network interfaces.
      "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none", "-x",
      kChildEnv, "-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_NUM_THREADS", self,
      "--gtest_filter=" + test};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  setenv(kChildEnv, "1", 1);
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  setenv("OMP_NUM_THREADS", "1", 1);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "mpirun", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  unsetenv(kChildEnv);
  if (rc != 0) return absl::InternalError(absl::StrCat("posix_spawnp mpirun: ", strerror(rc)));

  const absl::Time deadline = absl::Now() + limit;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
    if (absl::Now() > deadline) {
      kill(pid, SIGTERM);  // mpirun forwards it to the ranks
      bool reaped = false;
      for (int i = 0; i < 50 && !reaped; ++i) {
        reaped = waitpid(pid, &status, WNOHANG) == pid;
        if (!reaped) absl::SleepFor(absl::Milliseconds(100));
      }
      if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
      return absl::DeadlineExceededError(
          absl::StrCat("mpirun -np ", np, " ", test, " ran past ", absl::FormatDuration(limit)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      "mpirun -np ", np, " ", test, " failed: ", WIFEXITED(status) ? "exit code " : "signal ",
      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)));
}

// In the CTest process: runs the current test under mpirun for each world size in the
// arguments (each job bounded by `limit`), then returns from the test body. In a rank: falls
// through (the body runs on every rank) after limiting LibTorch to one thread.
#define R1_RUN_UNDER_MPIRUN(limit, ...)                                                           \
  do {                                                                                            \
    if (!::r1::testing_comm::IsChild()) {                                                         \
      for (int np : {__VA_ARGS__}) {                                                              \
        absl::Status job =                                                                        \
            ::r1::testing_comm::RunUnderMpirun(np, ::r1::testing_comm::CurrentTestName(), limit); \
        EXPECT_TRUE(job.ok()) << job;                                                             \
      }                                                                                           \
      return;                                                                                     \
    }                                                                                             \
    at::set_num_threads(1);                                                                       \
  } while (0)

}  // namespace r1::testing_comm

#endif  // R1_TESTS_WORKERS_COMM_MPI_LAUNCHER_H_
