// The sandbox runner (see sandbox.h): a fresh directory, the helper spawned with posix_spawn into
// its own process group, output read with caps under a wall-clock deadline, then cleanup.
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/subprocess.h"

namespace r1 {
namespace {

constexpr char kHelperName[] = "r1-sandbox-exec";

absl::Status ErrnoError(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat("sandbox: ", what, ": ", strerror(err)));
}

// Closes the descriptors it holds on destruction.
struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  int Add(int fd) {
    fds.push_back(fd);
    return fd;
  }
  void Close(int fd) {
    for (int& f : fds) {
      if (f == fd) {
        close(f);
        f = -1;
      }
    }
  }
};

absl::StatusOr<std::string> FindHelper(const std::string& configured) {
  if (!configured.empty()) {
    if (access(configured.c_str(), X_OK) == 0) return configured;
    return absl::NotFoundError(
        absl::StrCat("sandbox helper \"", configured, "\" is not an executable file"));
  }
  if (const char* env = std::getenv("R1_SANDBOX_EXEC"); env != nullptr && *env != '\0') {
    if (access(env, X_OK) == 0) return std::string(env);
    return absl::NotFoundError(absl::StrCat("R1_SANDBOX_EXEC=", env, " is not an executable file"));
  }
  std::vector<std::string> tried;
  if (absl::StatusOr<std::string> self = SelfExecutable(); self.ok()) {
    std::string beside = absl::StrCat(self->substr(0, self->rfind('/') + 1), kHelperName);
    if (access(beside.c_str(), X_OK) == 0) return beside;
    tried.push_back(beside);
  }
  if (absl::StatusOr<std::string> in_path = FindInPath(kHelperName); in_path.ok()) return in_path;
  tried.push_back("PATH");
  return absl::NotFoundError(absl::StrCat("sandbox helper ", kHelperName, " not found (tried ",
                                          absl::StrJoin(tried, ", "),
                                          "; set R1_SANDBOX_EXEC to its path)"));
}

absl::Status WriteFileAt(const std::string& dir, const SandboxFile& file) {
  std::string path = absl::StrCat(dir, "/", file.name);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                file.executable ? 0755 : 0644);
  if (fd < 0) return ErrnoError(absl::StrCat("create ", path), errno);
  size_t done = 0;
  while (done < file.content.size()) {
    ssize_t n = write(fd, file.content.data() + done, file.content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      return ErrnoError(absl::StrCat("write ", path), err);
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return absl::OkStatus();
}

// A regular file of the run directory (never through a symlink), at most `cap` bytes.
bool ReadCollected(const std::string& dir, const std::string& name, int64_t cap, SandboxFile* out) {
  std::string path = absl::StrCat(dir, "/", name);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= cap;
  std::string content;
  char buf[65536];
  while (ok) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buf, static_cast<size_t>(n));
    ok = static_cast<int64_t>(content.size()) <= cap;
  }
  close(fd);
  if (!ok) return false;
  out->name = name;
  out->content = std::move(content);
  out->executable = (st.st_mode & 0100) != 0;
  return true;
}

absl::Status RemoveEntryAt(int parent_fd, const std::string& name, const std::string& shown) {
  struct stat st;
  if (fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(absl::StrCat("stat ", shown), errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoError(absl::StrCat("remove ", shown), errno);
    }
    return absl::OkStatus();
  }
  fchmodat(parent_fd, name.c_str(), 0700, 0);  // a program may have made it unreadable
  int fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError(absl::StrCat("open ", shown), errno);
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    close(fd);
    return ErrnoError(absl::StrCat("open ", shown), err);
  }
  std::vector<std::string> children;
  while (struct dirent* entry = readdir(d)) {
    std::string child = entry->d_name;
    if (child != "." && child != "..") children.push_back(child);
  }
  absl::Status status = absl::OkStatus();
  for (const std::string& child : children) {
    absl::Status removed = RemoveEntryAt(dirfd(d), child, absl::StrCat(shown, "/", child));
    if (status.ok()) status = removed;
  }
  closedir(d);
  if (!status.ok()) return status;
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoError(absl::StrCat("remove ", shown), errno);
  }
  return absl::OkStatus();
}

// The helper's report (fd 3): "exit CODE CPU_MS", "signal SIG CPU_MS" or "error TEXT" lines.
struct Report {
  bool ended = false;  // an exit or signal line
  bool exited = false;
  int value = 0;
  int64_t cpu_ms = 0;
  std::string error;  // the first error line
};

Report ParseReport(const std::string& text) {
  Report report;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "error ")) {
      if (report.error.empty()) report.error = std::string(line);
      continue;
    }
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ');
    if (words.size() != 3 || (words[0] != "exit" && words[0] != "signal")) continue;
    if (!absl::SimpleAtoi(words[1], &report.value) || !absl::SimpleAtoi(words[2], &report.cpu_ms)) {
      continue;
    }
    report.ended = true;
    report.exited = words[0] == "exit";
  }
  return report;
}

absl::Status ValidateLimits(const SandboxLimits& l) {
  if (l.wall_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("sandbox: wall timeout must be > 0");
  }
  if (l.cpu_seconds < 1) return absl::InvalidArgumentError("sandbox: cpu_seconds must be >= 1");
  if (l.memory_bytes < (16ll << 20)) {
    return absl::InvalidArgumentError("sandbox: memory limit must be >= 16 MiB");
  }
  if (l.file_bytes < 0) return absl::InvalidArgumentError("sandbox: file size limit must be >= 0");
  if (l.open_files < 4) return absl::InvalidArgumentError("sandbox: open_files must be >= 4");
  if (l.processes < 1) return absl::InvalidArgumentError("sandbox: processes must be >= 1");
  if (l.disk_bytes < (1 << 20)) {
    return absl::InvalidArgumentError("sandbox: disk_bytes must be >= 1 MiB");
  }
  if (l.max_output_bytes < 1) {
    return absl::InvalidArgumentError("sandbox: max_output_bytes must be >= 1");
  }
  return absl::OkStatus();
}

}  // namespace

std::string SandboxIsolation::ToString() const {
  std::vector<std::string> parts;
  if (network_namespace) parts.push_back("network namespace");
  if (pid_namespace) parts.push_back("pid namespace");
  if (readonly_root) parts.push_back("read-only file systems");
  if (separate_uid) parts.push_back("separate uid");
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

std::string SandboxResult::Describe() const {
  switch (end) {
    case End::kExited:
      return absl::StrCat("exit code ", exit_code);
    case End::kSignaled:
      return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
    case End::kCpuLimit:
      return "CPU time limit exceeded";
    case End::kWallTimeout:
      return "wall-clock timeout";
    case End::kOutputLimit:
      return "output limit exceeded";
    case End::kSandboxError:
      return absl::StrCat("sandbox error: ", error);
  }
  return "unknown";
}

absl::Status RemoveTreeForce(const std::string& path) {
  if (path.empty() || path == "/") {
    return absl::InvalidArgumentError(absl::StrCat("refusing to remove \"", path, "\""));
  }
  return RemoveEntryAt(AT_FDCWD, path, path);
}

Sandbox::Sandbox(SandboxLimits limits, SandboxOptions options, std::string helper_path)
    : limits_(limits),
      options_(std::move(options)),
      helper_path_(std::move(helper_path)),
      slot_busy_(static_cast<size_t>(options_.max_parallel), false) {}

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxLimits& limits,
                                                         const SandboxOptions& options) {
  if (absl::Status s = ValidateLimits(limits); !s.ok()) return s;
  if (options.max_parallel < 1) {
    return absl::InvalidArgumentError("sandbox: max_parallel must be >= 1");
  }
  if (options.uid_base < 1 || options.uid_base + options.max_parallel > (1ll << 31)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sandbox: uid_base ", options.uid_base, " is out of range"));
  }
  absl::StatusOr<std::string> helper = FindHelper(options.helper_path);
  if (!helper.ok()) return helper.status();
  std::unique_ptr<Sandbox> sandbox(new Sandbox(limits, options, *helper));

  // Probe runs that set everything up and exec nothing: first without namespaces (the helper,
  // the uid switch and the run directory must work at all), then each namespace on its own.
  SandboxIsolation& iso = sandbox->isolation_;
  iso.separate_uid = geteuid() == 0;
  auto probe = [&](bool SandboxIsolation::*feature) -> absl::StatusOr<SandboxResult> {
    SandboxIsolation trial;
    trial.separate_uid = iso.separate_uid;
    if (feature != nullptr) trial.*feature = true;
    std::swap(sandbox->isolation_, trial);
    absl::StatusOr<SandboxResult> result =
        sandbox->RunInSlot(SandboxRequest{}, limits, /*slot=*/0, /*probe=*/true);
    std::swap(sandbox->isolation_, trial);
    return result;
  };
  absl::StatusOr<SandboxResult> base = probe(nullptr);
  if (!base.ok()) return base.status();
  if (!base->ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sandbox: the helper ", *helper, " cannot start programs: ", base->Describe()));
  }
  std::string network_error;
  for (bool SandboxIsolation::*feature :
       {&SandboxIsolation::network_namespace, &SandboxIsolation::pid_namespace,
        &SandboxIsolation::readonly_root}) {
    absl::StatusOr<SandboxResult> result = probe(feature);
    if (!result.ok()) return result.status();
    iso.*feature = result->ok();
    if (feature == &SandboxIsolation::network_namespace && !result->ok()) {
      network_error = result->Describe();
    }
  }
  if (!iso.network_namespace && !options.allow_unisolated) {
    return absl::FailedPreconditionError(
        absl::StrCat("sandbox: cannot isolate programs from the network (", network_error,
                     "); set allow_unisolated: true to run them without network isolation"));
  }
  return sandbox;
}

int32_t Sandbox::AcquireSlot() const {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    for (size_t i = 0; i < slot_busy_.size(); ++i) {
      if (!slot_busy_[i]) {
        slot_busy_[i] = true;
        return static_cast<int32_t>(i);
      }
    }
    slot_freed_.wait(lock);
  }
}

void Sandbox::ReleaseSlot(int32_t slot) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    slot_busy_[static_cast<size_t>(slot)] = false;
  }
  slot_freed_.notify_one();
}

absl::StatusOr<SandboxResult> Sandbox::Run(const SandboxRequest& request) const {
  return Run(request, limits_);
}

absl::StatusOr<SandboxResult> Sandbox::Run(const SandboxRequest& request,
                                           const SandboxLimits& limits) const {
  if (absl::Status s = ValidateLimits(limits); !s.ok()) return s;
  if (request.argv.empty()) return absl::InvalidArgumentError("sandbox: empty argv");
  for (const SandboxFile& file : request.files) {
    if (file.name.empty() || file.name.find('/') != std::string::npos || file.name == "." ||
        file.name == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("sandbox: file name \"", file.name, "\" is not a plain file name"));
    }
  }
  const int32_t slot = AcquireSlot();
  absl::StatusOr<SandboxResult> result = RunInSlot(request, limits, slot, /*probe=*/false);
  ReleaseSlot(slot);
  return result;
}

absl::StatusOr<SandboxResult> Sandbox::RunInSlot(const SandboxRequest& request,
                                                 const SandboxLimits& limits, int32_t slot,
                                                 bool probe) const {
  const absl::Time start = absl::Now();
  std::string root = options_.temp_root;
  if (root.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    root = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string dir_template = absl::StrCat(root, "/r1-sandbox-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {
    return ErrnoError(absl::StrCat("mkdtemp in ", root), errno);
  }
  const std::string dir = dir_template;
  SandboxResult result;
  absl::Status status = [&]() -> absl::Status {
    for (const SandboxFile& file : request.files) {
      if (absl::Status s = WriteFileAt(dir, file); !s.ok()) return s;
    }
    const int64_t uid = options_.uid_base + slot;
    if (isolation_.separate_uid &&
        chown(dir.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid)) != 0) {
      return ErrnoError(absl::StrCat("chown ", dir), errno);
    }

    std::vector<std::string> argv = {helper_path_, "--dir", dir};
    if (isolation_.separate_uid) {
      for (const char* flag : {"--uid", "--gid"}) {
        argv.push_back(flag);
        argv.push_back(absl::StrCat(uid));
      }
    }
    if (isolation_.network_namespace) argv.push_back("--net");
    if (isolation_.pid_namespace) argv.push_back("--pid");
    if (isolation_.readonly_root) {
      argv.push_back("--readonly-root");
      argv.push_back("--dir-bytes");
      argv.push_back(absl::StrCat(limits.disk_bytes));
      for (const std::string& name : request.collect) {
        argv.push_back("--collect");
        argv.push_back(name);
      }
    }
    const std::pair<const char*, int64_t> numbers[] = {{"--cpu-seconds", limits.cpu_seconds},
                                                       {"--memory-bytes", limits.memory_bytes},
                                                       {"--file-bytes", limits.file_bytes},
                                                       {"--open-files", limits.open_files},
                                                       {"--processes", limits.processes}};
    for (const auto& [flag, value] : numbers) {
      argv.push_back(flag);
      argv.push_back(absl::StrCat(value));
    }
    if (probe) argv.push_back("--probe");
    argv.push_back("--");
    for (const std::string& a : request.argv) argv.push_back(a);

    // stdin from a memory file: no pipe to block on or to raise SIGPIPE in this process.
    Fds fds;
    int in_fd = fds.Add(memfd_create("r1-sandbox-stdin", MFD_CLOEXEC));
    if (in_fd < 0) return ErrnoError("memfd_create", errno);
    for (size_t done = 0; done < request.stdin_text.size();) {
      ssize_t n = write(in_fd, request.stdin_text.data() + done, request.stdin_text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ErrnoError("write stdin", errno);
      done += static_cast<size_t>(n);
    }
    lseek(in_fd, 0, SEEK_SET);
    int out[2], err[2], rep[2];
    for (int* p : {out, err, rep}) {
      if (pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe", errno);
      fds.Add(p[0]);
      fds.Add(p[1]);
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawn_file_actions_adddup2(&actions, rep[1], 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attr, &empty);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGXCPU, SIGXFSZ, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
      sigaddset(&defaults, sig);
    }
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    char* no_env[] = {nullptr};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, helper_path_.c_str(), &actions, &attr, args.data(), no_env);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return ErrnoError(absl::StrCat("spawn ", helper_path_), rc);
    for (int fd : {in_fd, out[1], err[1], rep[1]}) fds.Close(fd);

    // Read stdout, stderr and the report until all three end (the helper has exited), the output
    // cap is passed, or the deadline comes; then kill the group.
    std::string report_text;
    struct Stream {
      int fd;
      std::string* text;
      bool capped;
    } streams[] = {{out[0], &result.stdout_text, true},
                   {err[0], &result.stderr_text, true},
                   {rep[0], &report_text, false}};
    const absl::Time deadline = start + limits.wall_timeout;
    bool killed = false;
    result.end = SandboxResult::End::kSandboxError;
    while (true) {
      std::vector<struct pollfd> polls;
      for (const Stream& s : streams) {
        if (s.fd >= 0) polls.push_back({s.fd, POLLIN, 0});
      }
      if (polls.empty()) break;
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        kill(-pid, SIGKILL);
        killed = true;
        result.end = SandboxResult::End::kWallTimeout;
        break;
      }
      int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
      int n = poll(polls.data(), polls.size(), timeout_ms);
      if (n < 0 && errno != EINTR) {
        kill(-pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return ErrnoError("poll", errno);
      }
      for (const struct pollfd& p : polls) {
        if (p.revents == 0) continue;
        for (Stream& s : streams) {
          if (s.fd != p.fd) continue;
          char buf[65536];
          ssize_t got = read(s.fd, buf, sizeof(buf));
          if (got < 0 && errno == EINTR) continue;
          if (got <= 0) {
            fds.Close(s.fd);
            s.fd = -1;
            continue;
          }
          const size_t room =
              s.capped ? static_cast<size_t>(limits.max_output_bytes) -
                             std::min(s.text->size(), static_cast<size_t>(limits.max_output_bytes))
                       : static_cast<size_t>(got);
          s.text->append(buf, std::min(room, static_cast<size_t>(got)));
          if (s.capped && static_cast<size_t>(got) > room && !killed) {
            kill(-pid, SIGKILL);
            killed = true;
            result.end = SandboxResult::End::kOutputLimit;
          }
        }
      }
      if (killed) break;
    }
    // The helper is ending (its report pipe closed) or was killed: wait for it without reaping,
    // kill what is left of its group while the group id is still held, then reap.
    siginfo_t info;
    while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0) {
      if (errno != EINTR) break;
    }
    kill(-pid, SIGKILL);
    int wait_status = 0;
    while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
    // The rest of the report, if the helper wrote it before the kill.
    if (streams[2].fd >= 0) {
      char buf[4096];
      ssize_t got;
      while ((got = read(streams[2].fd, buf, sizeof(buf))) > 0) report_text.append(buf, got);
    }
    result.wall_time = absl::Now() - start;
    if (killed) return absl::OkStatus();

    Report report = ParseReport(report_text);
    if (!report.error.empty()) {
      result.end = SandboxResult::End::kSandboxError;
      result.error = report.error;
    } else if (!report.ended) {
      result.error =
          absl::StrCat("the sandbox helper ended without a report (",
                       WIFEXITED(wait_status) ? absl::StrCat("exit code ", WEXITSTATUS(wait_status))
                                              : absl::StrCat("signal ", WTERMSIG(wait_status)),
                       ")");
    } else if (report.exited) {
      result.end = SandboxResult::End::kExited;
      result.exit_code = report.value;
      result.cpu_ms = report.cpu_ms;
    } else {
      result.signal = report.value;
      result.cpu_ms = report.cpu_ms;
      const bool over_cpu = report.value == SIGXCPU ||
                            (report.value == SIGKILL && report.cpu_ms >= limits.cpu_seconds * 1000);
      result.end = over_cpu ? SandboxResult::End::kCpuLimit : SandboxResult::End::kSignaled;
    }
    return absl::OkStatus();
  }();
  if (status.ok()) {
    for (const std::string& name : request.collect) {
      SandboxFile file;
      if (ReadCollected(dir, name, limits.max_output_bytes, &file)) {
        result.collected.push_back(std::move(file));
      }
    }
  }
  absl::Status removed = RemoveTreeForce(dir);
  if (!status.ok()) return status;
  if (!removed.ok()) return removed;
  return result;
}

}  // namespace r1
