// The sandbox runner against ordinary and hostile programs (Python 3 at /usr/bin/python3). Every
// hostile case is bounded to a few seconds and must leave the test process, the run directory root
// and the host untouched.
#include "sandbox/sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

constexpr char kHelper[] = R1_BINARY_DIR "/cli/r1-sandbox-exec";
constexpr char kPython[] = "/usr/bin/python3";

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Processes whose real uid is `uid` (from /proc).
int CountProcessesOfUid(int64_t uid) {
  int count = 0;
  for (const std::string& pid : DirEntries("/proc")) {
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status("/proc/" + pid + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        if (std::stoll(line.substr(4)) == uid) ++count;
        break;
      }
    }
  }
  return count;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " is not installed";
    char root[] = "/tmp/r1-sandbox-test-XXXXXX";
    ASSERT_NE(mkdtemp(root), nullptr);
    root_ = root;
    chmod(root_.c_str(), 0755);  // the sandbox uid must reach its run directory inside
    limits_.wall_timeout = absl::Seconds(5);
    limits_.cpu_seconds = 2;
    limits_.memory_bytes = 256ll << 20;
    limits_.processes = 16;
    limits_.max_output_bytes = 64 << 10;
    options_.helper_path = kHelper;
    options_.temp_root = root_;
    options_.max_parallel = 2;
    // CTest runs this binary's cases side by side (-j): each process gets uids of its own, so
    // the "no process of the sandbox uid survives" checks never see another case's programs.
    options_.uid_base = 62000 + static_cast<int>(getpid() % 400) * 4;
    absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create(limits_, options_);
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *std::move(sandbox);
  }
  void TearDown() override {
    if (root_.empty()) return;
    // Every run removed its directory, whatever the program did.
    EXPECT_TRUE(DirEntries(root_).empty());
    EXPECT_TRUE(RemoveTreeForce(root_).ok());
  }

  SandboxResult RunPython(const std::string& code, const std::string& stdin_text = "",
                          std::vector<std::string> args = {}) {
    SandboxRequest request;
    request.argv = {kPython, "-I", "-S", "main.py"};
    for (std::string& a : args) request.argv.push_back(a);
    request.files = {{"main.py", code, false}};
    request.stdin_text = stdin_text;
    absl::StatusOr<SandboxResult> result = sandbox_->Run(request);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : SandboxResult{};
  }

  std::string root_;
  SandboxLimits limits_;
  SandboxOptions options_;
  std::unique_ptr<Sandbox> sandbox_;
};

TEST_F(SandboxTest, ProbeFindsIsolationOfThisMachine) {
  // Reported for the record; as root every isolation is expected to work.
  std::printf("isolation: %s\n", sandbox_->isolation().ToString().c_str());
  EXPECT_TRUE(sandbox_->isolation().network_namespace);
  if (geteuid() == 0) EXPECT_TRUE(sandbox_->isolation().separate_uid);
}

TEST_F(SandboxTest, EchoesStdinToStdout) {
  SandboxResult r = RunPython("import sys\nprint(sys.stdin.read().upper(), end='')\n", "abc\n");
  EXPECT_EQ(r.end, SandboxResult::End::kExited) << r.Describe();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "ABC\n");
  EXPECT_TRUE(r.ok());
}

TEST_F(SandboxTest, ExceptionIsANonZeroExitWithTraceback) {
  SandboxResult r = RunPython("raise ValueError('boom')\n");
  EXPECT_EQ(r.end, SandboxResult::End::kExited);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("ValueError: boom"), std::string::npos) << r.stderr_text;
}

TEST_F(SandboxTest, SelfSignalIsReported) {
  SandboxResult r = RunPython("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n");
  EXPECT_EQ(r.end, SandboxResult::End::kSignaled) << r.Describe();
  EXPECT_EQ(r.signal, SIGSEGV);
}

TEST_F(SandboxTest, CpuBoundLoopHitsTheCpuLimit) {
  // A wall timeout far beyond the CPU limit, so that a loaded machine (tests in parallel on few
  // cores) still reaches the CPU limit first.
  limits_.cpu_seconds = 1;
  limits_.wall_timeout = absl::Seconds(30);
  SandboxRequest request{{kPython, "-I", "-S", "-c", "while True:\n    pass"}, {}, "", {}};
  absl::StatusOr<SandboxResult> r = sandbox_->Run(request, limits_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->end, SandboxResult::End::kCpuLimit) << r->Describe();
  EXPECT_GE(r->cpu_ms, 900);  // it ran to its CPU second
}

TEST_F(SandboxTest, SleepHitsTheWallTimeout) {
  limits_.wall_timeout = absl::Seconds(1);
  SandboxRequest request{{kPython, "-I", "-S", "-c", "import time\ntime.sleep(60)"}, {}, "", {}};
  absl::StatusOr<SandboxResult> r = sandbox_->Run(request, limits_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->end, SandboxResult::End::kWallTimeout) << r->Describe();
  EXPECT_LT(r->wall_time, absl::Seconds(3));
}

TEST_F(SandboxTest, OneGigabyteAllocationFailsInside) {
  SandboxResult r = RunPython("x = bytearray(1 << 30)\nprint('allocated')\n");
  EXPECT_EQ(r.end, SandboxResult::End::kExited) << r.Describe();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.stderr_text.find("MemoryError"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(r.stdout_text.find("allocated"), std::string::npos);
}

TEST_F(SandboxTest, EndlessOutputIsCappedAndKilled) {
  SandboxResult r = RunPython("while True:\n    print('x' * 1000)\n");
  EXPECT_EQ(r.end, SandboxResult::End::kOutputLimit) << r.Describe();
  EXPECT_EQ(r.stdout_text.size(), static_cast<size_t>(limits_.max_output_bytes));
}

TEST_F(SandboxTest, LargeFileWriteStopsAtTheFileSizeLimit) {
  limits_.file_bytes = 1 << 20;
  SandboxRequest request{{kPython, "-I", "-S", "-c",
                          "f = open('big', 'wb')\nfor i in range(64):\n    f.write(b'x' * (1 << "
                          "20))\n    f.flush()\n"},
                         {},
                         "",
                         {}};
  absl::StatusOr<SandboxResult> r = sandbox_->Run(request, limits_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->ok()) << r->Describe();
}

TEST_F(SandboxTest, ManyFilesStopAtTheRunDirectorySize) {
  if (!sandbox_->isolation().readonly_root) GTEST_SKIP() << "no mount namespace here";
  limits_.disk_bytes = 8 << 20;
  limits_.file_bytes = 4 << 20;
  SandboxRequest request{{kPython, "-I", "-S", "-c",
                          "import errno\n"
                          "for i in range(64):\n"
                          "    try:\n"
                          "        open(f'f{i}', 'wb').write(b'x' * (2 << 20))\n"
                          "    except OSError as e:\n"
                          "        print('stopped', i, errno.errorcode[e.errno])\n"
                          "        break\n"},
                         {},
                         "",
                         {}};
  absl::StatusOr<SandboxResult> r = sandbox_->Run(request, limits_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << r->Describe() << r->stderr_text;
  EXPECT_EQ(r->stdout_text.rfind("stopped", 0), 0u) << r->stdout_text;
  EXPECT_NE(r->stdout_text.find("ENOSPC"), std::string::npos) << r->stdout_text;
}

TEST_F(SandboxTest, ForkBombIsContained) {
  const std::string bomb =
      "import os\n"
      "while True:\n"
      "    try:\n"
      "        os.fork()\n"
      "    except OSError:\n"
      "        pass\n";
  limits_.wall_timeout = absl::Seconds(2);
  SandboxRequest request{{kPython, "-I", "-S", "main.py"}, {{"main.py", bomb, false}}, "", {}};
  const absl::Time start = absl::Now();
  absl::StatusOr<SandboxResult> r = sandbox_->Run(request, limits_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
  // Nothing of it survives the run.
  absl::SleepFor(absl::Milliseconds(200));
  if (sandbox_->isolation().separate_uid) {
    EXPECT_EQ(CountProcessesOfUid(options_.uid_base), 0);
    EXPECT_EQ(CountProcessesOfUid(options_.uid_base + 1), 0);
  }
  // The sandbox still works afterwards.
  EXPECT_EQ(RunPython("print(1)").stdout_text, "1\n");
}

TEST_F(SandboxTest, BackgroundChildDiesWithTheProgram) {
  if (!sandbox_->isolation().pid_namespace) GTEST_SKIP() << "no pid namespace here";
  // A daemon that escapes the process group would survive without a pid namespace.
  SandboxResult r = RunPython(
      "import os, time\n"
      "if os.fork() == 0:\n"
      "    os.setsid()\n"
      "    os.close(1); os.close(2)\n"
      "    time.sleep(30)\n"
      "    os._exit(0)\n"
      "print('parent done')\n");
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_LT(r.wall_time, absl::Seconds(3));
  absl::SleepFor(absl::Milliseconds(200));
  if (sandbox_->isolation().separate_uid) EXPECT_EQ(CountProcessesOfUid(options_.uid_base), 0);
}

TEST_F(SandboxTest, WritingOutsideTheRunDirectoryFails) {
  const std::string outside_tmp = absl::StrCat("/tmp/r1-sandbox-escape-", getpid());
  const std::string outside_repo = absl::StrCat(R1_SOURCE_DIR, "/r1-sandbox-escape-", getpid());
  SandboxResult r = RunPython(
      "import sys\n"
      "open('inside.txt', 'w').write('ok')\n"
      "for path in sys.argv[1:]:\n"
      "    try:\n"
      "        open(path, 'w').write('escaped')\n"
      "        print('wrote', path)\n"
      "    except OSError as e:\n"
      "        print('refused', path, e.errno)\n",
      "", {outside_tmp, outside_repo, "/dev/shm/r1-sandbox-escape"});
  EXPECT_TRUE(r.ok()) << r.Describe() << r.stderr_text;
  EXPECT_EQ(r.stdout_text.find("wrote"), std::string::npos) << r.stdout_text;
  EXPECT_FALSE(Exists(outside_tmp));
  EXPECT_FALSE(Exists(outside_repo));
  EXPECT_FALSE(Exists("/dev/shm/r1-sandbox-escape"));
}

TEST_F(SandboxTest, ConnectingToALoopbackListenerFails) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  SandboxResult r = RunPython(
      "import socket, sys\n"
      "s = socket.socket()\n"
      "s.settimeout(2)\n"
      "try:\n"
      "    s.connect(('127.0.0.1', int(sys.argv[1])))\n"
      "    print('connected')\n"
      "except OSError as e:\n"
      "    print('refused', e)\n",
      "", {std::to_string(port)});
  EXPECT_TRUE(r.ok()) << r.Describe() << r.stderr_text;
  EXPECT_EQ(r.stdout_text.rfind("refused", 0), 0u) << r.stdout_text;
  EXPECT_LT(accept(listener, nullptr, nullptr), 0);  // no connection ever arrived
  close(listener);
}

TEST_F(SandboxTest, KillingTheParentDoesNotReachTheRunner) {
  SandboxResult r = RunPython(
      "import os, sys, signal\n"
      "for pid in (os.getppid(), int(sys.argv[1])):\n"
      "    try:\n"
      "        os.kill(pid, signal.SIGKILL)\n"
      "        print('sent', pid)\n"
      "    except OSError as e:\n"
      "        print('refused', pid, e.errno)\n",
      "", {std::to_string(getpid())});
  // Still alive to check: the runner's pid is invisible or not ours to signal.
  EXPECT_TRUE(r.ok()) << r.Describe() << r.stderr_text;
  EXPECT_EQ(r.stdout_text.find(absl::StrCat("sent ", getpid())), std::string::npos)
      << r.stdout_text;
}

TEST_F(SandboxTest, UnreadableDirectoriesAreRemovedToo) {
  SandboxResult r = RunPython(
      "import os\n"
      "os.makedirs('a/b/c')\n"
      "open('a/b/c/f', 'w').write('x')\n"
      "os.symlink('/etc', 'a/etc')\n"
      "os.chmod('a/b/c', 0)\n"
      "os.chmod('a/b', 0)\n"
      "os.chmod('a', 0)\n"
      "os.chmod('.', 0)\n");
  EXPECT_TRUE(r.ok()) << r.Describe() << r.stderr_text;
  EXPECT_TRUE(Exists("/etc/passwd"));  // the symlink was removed, not followed
  // TearDown checks that the run directory is gone.
}

TEST_F(SandboxTest, CollectsRequestedFiles) {
  SandboxRequest request{{kPython, "-I", "-S", "-c", "open('out.bin','w').write('built')"},
                         {},
                         "",
                         {"out.bin", "missing"}};
  absl::StatusOr<SandboxResult> r = sandbox_->Run(request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->collected.size(), 1u);
  EXPECT_EQ(r->collected[0].name, "out.bin");
  EXPECT_EQ(r->collected[0].content, "built");
}

TEST_F(SandboxTest, MissingProgramIsASandboxError) {
  SandboxRequest request{{"/nonexistent/program"}, {}, "", {}};
  absl::StatusOr<SandboxResult> r = sandbox_->Run(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->end, SandboxResult::End::kSandboxError);
  EXPECT_NE(r->error.find("/nonexistent/program"), std::string::npos) << r->error;
}

TEST_F(SandboxTest, ParallelRunsFromManyThreads) {
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      SandboxRequest request{
          {kPython, "-I", "-S", "-c", "print(int(input()) * 2)"}, {}, absl::StrCat(t, "\n"), {}};
      absl::StatusOr<SandboxResult> r = sandbox_->Run(request);
      if (r.ok() && r->ok() && r->stdout_text == absl::StrCat(2 * t, "\n")) ++passed;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(passed.load(), 6);
}

TEST_F(SandboxTest, BadRequestsAreErrors) {
  EXPECT_FALSE(sandbox_->Run(SandboxRequest{}).ok());
  SandboxRequest bad_name{{kPython}, {{"../x.py", "", false}}, "", {}};
  EXPECT_EQ(sandbox_->Run(bad_name).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SandboxCreateTest, MissingHelperIsNotFound) {
  SandboxOptions options;
  options.helper_path = "/nonexistent/r1-sandbox-exec";
  absl::StatusOr<std::unique_ptr<Sandbox>> s = Sandbox::Create(SandboxLimits{}, options);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
}

TEST(SandboxCreateTest, BadLimitsAreInvalid) {
  SandboxOptions options;
  options.helper_path = kHelper;
  SandboxLimits limits;
  limits.processes = 0;
  EXPECT_EQ(Sandbox::Create(limits, options).status().code(), absl::StatusCode::kInvalidArgument);
  options.max_parallel = 0;
  EXPECT_EQ(Sandbox::Create(SandboxLimits{}, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A helper that cannot make network namespaces (as on a machine without the privilege): Create
// refuses unless allow_unisolated is set.
TEST(SandboxCreateTest, NoNetworkNamespaceNeedsAllowUnisolated) {
  char dir[] = "/tmp/r1-sandbox-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  chmod(dir, 0755);
  const std::string wrapper = absl::StrCat(dir, "/no-netns-helper");
  {
    std::ofstream out(wrapper);
    out << "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = --net ]; then\n"
        << "    echo 'error unshare (network namespaces): Operation not permitted' >&3\n"
        << "    exit 125\n  fi\ndone\nexec " << kHelper << " \"$@\"\n";
  }
  chmod(wrapper.c_str(), 0755);
  SandboxOptions options;
  options.helper_path = wrapper;
  options.temp_root = dir;
  absl::StatusOr<std::unique_ptr<Sandbox>> refused = Sandbox::Create(SandboxLimits{}, options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("allow_unisolated"), std::string::npos)
      << refused.status();
  EXPECT_NE(refused.status().message().find("Operation not permitted"), std::string::npos)
      << refused.status();
  options.allow_unisolated = true;
  absl::StatusOr<std::unique_ptr<Sandbox>> allowed = Sandbox::Create(SandboxLimits{}, options);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_FALSE((*allowed)->isolation().network_namespace);
  EXPECT_TRUE(RemoveTreeForce(dir).ok());
}

// A run directory the sandbox uid cannot enter: Create says so instead of blaming the network.
TEST(SandboxCreateTest, UnusableRunDirectoryRootIsReported) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the sandbox uid differs only then)";
  char dir[] = "/tmp/r1-sandbox-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  chmod(dir, 0700);  // closed to everyone but root
  SandboxOptions options;
  options.helper_path = kHelper;
  options.temp_root = dir;
  absl::StatusOr<std::unique_ptr<Sandbox>> s = Sandbox::Create(SandboxLimits{}, options);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("cannot start programs"), std::string::npos) << s.status();
  EXPECT_NE(s.status().message().find("Permission denied"), std::string::npos) << s.status();
  EXPECT_TRUE(DirEntries(dir).empty());
  EXPECT_TRUE(RemoveTreeForce(dir).ok());
}

}  // namespace
}  // namespace r1
