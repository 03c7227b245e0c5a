// Child processes through posix_spawn (see subprocess.h).
#include "base/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace r1 {

std::string ExitInfo::ToString() const {
  if (exited) return absl::StrCat("exit code ", exit_code);
  return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
}

absl::StatusOr<std::string> FindInPath(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (access(program.c_str(), X_OK) == 0) return program;
    return absl::NotFoundError(absl::StrCat(program, ": not an executable file"));
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(program, ": not found in PATH"));
}

absl::StatusOr<std::string> SelfExecutable() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return absl::InternalError(absl::StrCat("readlink /proc/self/exe: ", strerror(errno)));
  return std::string(buf, static_cast<size_t>(n));
}

absl::StatusOr<Subprocess> Subprocess::Spawn(const std::vector<std::string>& argv,
                                             const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("Spawn: empty argv");
  absl::StatusOr<std::string> program = FindInPath(argv[0]);
  if (!program.ok()) return program.status();

  // Environment: the inherited one with options.env overriding.
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) continue;
    env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!options.log_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.log_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  sigset_t empty, defaults;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, flags);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, program->c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("spawn ", *program, ": ", strerror(rc)));
  }
  return Subprocess(pid, options.new_process_group);
}

Subprocess::Subprocess(Subprocess&& other) noexcept { *this = std::move(other); }

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  pid_ = other.pid_;
  group_ = other.group_;
  reaped_ = other.reaped_;
  exit_ = other.exit_;
  other.pid_ = -1;
  other.reaped_ = true;
  return *this;
}

namespace {
ExitInfo FromWaitStatus(int status) {
  ExitInfo info;
  if (WIFEXITED(status)) {
    info.exited = true;
    info.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  }
  return info;
}
}  // namespace

absl::StatusOr<ExitInfo> Subprocess::Poll() {
  if (pid_ <= 0) return absl::FailedPreconditionError("no child process");
  if (reaped_) return exit_;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return absl::UnavailableError("still running");
  if (r < 0) return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
  reaped_ = true;
  exit_ = FromWaitStatus(status);
  return exit_;
}

bool Subprocess::running() {
  absl::StatusOr<ExitInfo> info = Poll();
  return !info.ok() && absl::IsUnavailable(info.status());
}

absl::StatusOr<ExitInfo> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(2);
  while (true) {
    absl::StatusOr<ExitInfo> info = Poll();
    if (info.ok() || !absl::IsUnavailable(info.status())) return info;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("process ", pid_, " still running"));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
}

void Subprocess::Signal(int signal) {
  if (pid_ <= 0 || reaped_) return;
  if (group_) {
    kill(-pid_, signal);
  } else {
    kill(pid_, signal);
  }
}

ExitInfo Subprocess::Terminate(absl::Duration grace) {
  if (pid_ <= 0) return exit_;
  if (!reaped_) {
    Signal(SIGTERM);
    absl::StatusOr<ExitInfo> info = Wait(grace);
    if (info.ok()) {
      if (group_) kill(-pid_, SIGKILL);  // stragglers of the group
      return *info;
    }
    Signal(SIGKILL);
    if (!group_) kill(pid_, SIGKILL);
    info = Wait(absl::Seconds(10));
    if (info.ok()) return *info;
  }
  if (group_) kill(-pid_, SIGKILL);
  return exit_;
}

}  // namespace r1
