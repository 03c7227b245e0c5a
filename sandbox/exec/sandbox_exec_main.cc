// r1-sandbox-exec: the helper that the sandbox runner (sandbox/sandbox.h) spawns with posix_spawn.
// It is a fresh single-threaded program, so it may fork() and change its own credentials: it
// enters new namespaces, applies rlimits, drops to an unprivileged uid and execs the untrusted
// program, then reports how that program ended on fd 3.
//
//   r1-sandbox-exec [--dir DIR] [--uid N --gid N] [--net] [--pid] [--readonly-root]
//                   [--dir-bytes N] [--collect NAME]... [--cpu-seconds N] [--memory-bytes N]
//                   [--file-bytes N] [--open-files N] [--processes N] -- PROGRAM [ARGS...]
//
// --net: a new network namespace (only a loopback, left down: connect() fails). --pid: a new PID
// namespace whose init (this helper's child) reaps everything and, by ending, makes the kernel kill
// every process left in it. --readonly-root: a new mount namespace where every mount is read-only
// except DIR and a fresh /proc; with --dir-bytes, DIR is a tmpfs of that size holding copies of
// its files, and the --collect files are copied back out of it when the program ends. --uid/--gid:
// switch to these ids (needs root); without root the namespaces are entered through a new user
// namespace mapping the caller's own uid. PROGRAM runs in DIR with a minimal environment (PATH,
// HOME=TMPDIR=DIR, LANG=C.UTF-8).
//
// Report on fd 3 (when open), one line: "exit CODE CPU_MS" or "signal SIG CPU_MS" for the program
// (CPU_MS = its CPU time and its children's), or "error TEXT" when the sandbox could not be set up
// (exit status 125) or PROGRAM could not be executed (127). "--probe" sets everything up and runs
// nothing: it reports "exit 0 0" when every requested isolation is available.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

namespace {

constexpr int kReportFd = 3;
constexpr int kSetupFailed = 125;
constexpr int kExecFailed = 127;

struct Options {
  std::string dir;
  long uid = -1, gid = -1;
  bool net = false, pid = false, readonly_root = false, probe = false;
  long cpu_seconds = -1, memory_bytes = -1, file_bytes = -1, open_files = -1, processes = -1;
  long dir_bytes = -1;
  std::vector<std::string> collect;
  std::vector<std::string> argv;
};

bool report_open = false;

void Report(const std::string& line) {
  if (!report_open) return;
  std::string text = line + "\n";
  ssize_t unused = write(kReportFd, text.data(), text.size());
  (void)unused;
}

[[noreturn]] void Fail(const std::string& what, int err = 0) {
  std::string text = "error " + what;
  if (err != 0) text += std::string(": ") + strerror(err);
  Report(text);
  if (!report_open) fprintf(stderr, "r1-sandbox-exec: %s\n", text.c_str() + 6);
  _exit(kSetupFailed);
}

bool ParseLong(const char* text, long* out) {
  char* end = nullptr;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < 0) return false;
  *out = v;
  return true;
}

Options Parse(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--net") {
      o.net = true;
    } else if (a == "--pid") {
      o.pid = true;
    } else if (a == "--readonly-root") {
      o.readonly_root = true;
    } else if (a == "--probe") {
      o.probe = true;
    } else if (a == "--dir" && i + 1 < argc) {
      o.dir = argv[++i];
    } else if (a == "--collect" && i + 1 < argc) {
      o.collect.push_back(argv[++i]);
    } else {
      struct {
        const char* name;
        long* value;
      } numbers[] = {{"--uid", &o.uid},
                     {"--gid", &o.gid},
                     {"--cpu-seconds", &o.cpu_seconds},
                     {"--memory-bytes", &o.memory_bytes},
                     {"--file-bytes", &o.file_bytes},
                     {"--open-files", &o.open_files},
                     {"--processes", &o.processes},
                     {"--dir-bytes", &o.dir_bytes}};
      bool known = false;
      for (auto& n : numbers) {
        if (a == n.name) {
          if (i + 1 >= argc || !ParseLong(argv[i + 1], n.value)) {
            Fail("usage: " + a + " needs a number >= 0");
          }
          ++i;
          known = true;
        }
      }
      if (!known) Fail("usage: unknown option \"" + a + "\"");
    }
  }
  for (; i < argc; ++i) o.argv.push_back(argv[i]);
  if (o.argv.empty() && !o.probe) Fail("usage: no program after --");
  if ((o.uid < 0) != (o.gid < 0)) Fail("usage: --uid and --gid go together");
  if (o.readonly_root && o.dir.empty()) Fail("usage: --readonly-root needs --dir");
  return o;
}

void WriteFile(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) Fail(std::string("open ") + path, errno);
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    Fail(std::string("write ") + path, errno);
  }
  close(fd);
}

// Enters the requested namespaces. Without root, a user namespace maps our own uid/gid so that the
// others can be created (the kernel allows it where unprivileged user namespaces are enabled).
void EnterNamespaces(const Options& o) {
  int flags =
      (o.net ? CLONE_NEWNET : 0) | (o.pid ? CLONE_NEWPID : 0) | (o.readonly_root ? CLONE_NEWNS : 0);
  if (flags == 0) return;
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (uid != 0) flags |= CLONE_NEWUSER;
  if (unshare(flags) != 0) {
    std::string names;
    if (flags & CLONE_NEWUSER) names += " user";
    if (o.net) names += " network";
    if (o.pid) names += " pid";
    if (o.readonly_root) names += " mount";
    Fail("unshare (" + names.substr(1) + " namespaces)", errno);
  }
  if (uid != 0) {
    WriteFile("/proc/self/setgroups", "deny");
    WriteFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1");
    WriteFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1");
  }
}

// The run directory as the host sees it, under the tmpfs (-1 without one): collected files are
// copied back into it.
int host_dir_fd = -1;

// Copies regular file `name` between directories (no symlinks followed); false if it is missing,
// not a regular file or larger than `max_bytes`.
bool CopyFile(int from_dir, int to_dir, const std::string& name, long max_bytes) {
  int in = openat(from_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (in < 0) return false;
  struct stat st;
  if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || (max_bytes >= 0 && st.st_size > max_bytes)) {
    close(in);
    return false;
  }
  int out = openat(to_dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                   st.st_mode & 0777);
  bool ok = out >= 0;
  char buf[65536];
  while (ok) {
    ssize_t n = read(in, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    ok = write(out, buf, static_cast<size_t>(n)) == n;
  }
  close(in);
  if (out >= 0) close(out);
  return ok;
}

// The run directory becomes a tmpfs of `bytes` (so that no program fills the host's disk), holding
// copies of the files the runner put there.
void MountSizedRunDir(const Options& o) {
  // A detached clone of the directory's mount: it stays writable when everything attached is made
  // read-only below, so collected files can still be copied back into it.
  host_dir_fd = static_cast<int>(
      syscall(SYS_open_tree, AT_FDCWD, o.dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (host_dir_fd < 0) Fail("open_tree " + o.dir, errno);
  struct stat dir_st;
  if (fstat(host_dir_fd, &dir_st) != 0) Fail("stat " + o.dir, errno);
  // The runner's input files, through a readable descriptor of the same directory.
  int list_fd = open(o.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (list_fd < 0) Fail("open " + o.dir, errno);
  DIR* d = fdopendir(list_fd);
  if (d == nullptr) Fail("list " + o.dir, errno);
  std::vector<std::string> inputs;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") inputs.push_back(name);
  }
  const std::string options = "size=" + std::to_string(o.dir_bytes) +
                              ",mode=0700,uid=" + std::to_string(dir_st.st_uid) +
                              ",gid=" + std::to_string(dir_st.st_gid);
  if (mount("tmpfs", o.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    Fail("mount a tmpfs on " + o.dir, errno);
  }
  int tmpfs_fd = open(o.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (tmpfs_fd < 0) Fail("open the tmpfs " + o.dir, errno);
  for (const std::string& name : inputs) {
    if (!CopyFile(dirfd(d), tmpfs_fd, name, -1)) Fail("copy " + name + " into the tmpfs", errno);
  }
  closedir(d);
  close(tmpfs_fd);
}

// In the new mount namespace: a private fresh /proc (for the new PID namespace), the run directory
// (a sized tmpfs with --dir-bytes), everything read-only, then the run directory writable again.
void MakeRootReadOnly(const Options& o) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Fail("make / private", errno);
  }
  if (o.pid && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    Fail("mount /proc", errno);
  }
  if (o.dir_bytes > 0) {
    MountSizedRunDir(o);
  } else if (mount(o.dir.c_str(), o.dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    Fail("bind " + o.dir, errno);
  }
  struct {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
  } attr = {MOUNT_ATTR_RDONLY, 0, 0, 0};
  if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
    Fail("make / read-only (mount_setattr)", errno);
  }
  if (mount(nullptr, o.dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV,
            nullptr) != 0) {
    Fail("make " + o.dir + " writable", errno);
  }
}

void SetLimit(int resource, const char* name, long value, long hard_extra = 0) {
  if (value < 0) return;
  struct rlimit limit;
  limit.rlim_cur = static_cast<rlim_t>(value);
  limit.rlim_max = static_cast<rlim_t>(value + hard_extra);
  if (setrlimit(resource, &limit) != 0) Fail(std::string("setrlimit ") + name, errno);
}

// The untrusted side: limits, credentials, directory, environment, exec. Never returns.
[[noreturn]] void ExecProgram(const Options& o) {
  // CPU: SIGXCPU at the soft limit, SIGKILL one second later.
  SetLimit(RLIMIT_CPU, "RLIMIT_CPU", o.cpu_seconds, 1);
  SetLimit(RLIMIT_AS, "RLIMIT_AS", o.memory_bytes);
  SetLimit(RLIMIT_FSIZE, "RLIMIT_FSIZE", o.file_bytes);
  SetLimit(RLIMIT_NOFILE, "RLIMIT_NOFILE", o.open_files);
  SetLimit(RLIMIT_NPROC, "RLIMIT_NPROC", o.processes);
  SetLimit(RLIMIT_CORE, "RLIMIT_CORE", 0);
  if (o.uid >= 0) {
    gid_t gid = static_cast<gid_t>(o.gid);
    if (setgroups(1, &gid) != 0) Fail("setgroups", errno);
    if (setresgid(gid, gid, gid) != 0) Fail("setresgid", errno);
    if (setresuid(o.uid, o.uid, o.uid) != 0) Fail("setresuid", errno);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail("no_new_privs", errno);
  if (!o.dir.empty() && chdir(o.dir.c_str()) != 0) Fail("chdir " + o.dir, errno);
  if (o.probe) _exit(0);
  std::vector<std::string> env_strings = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
                                          "HOME=" + o.dir, "TMPDIR=" + o.dir};
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv = o.argv;
  for (std::string& s : argv) args.push_back(s.data());
  args.push_back(nullptr);
  execve(args[0], args.data(), envp.data());
  const int err = errno;
  Report("error exec " + o.argv[0] + ": " + strerror(err));
  _exit(kExecFailed);
}

// Runs the program as a child, reaps every process that ends up ours (as the init of a PID
// namespace, orphans are reparented to us), and reports how the program ended.
[[noreturn]] void Supervise(const Options& o) {
  pid_t program = fork();
  if (program < 0) Fail("fork", errno);
  if (program == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    ExecProgram(o);
  }
  int program_status = 0;
  struct rusage usage;
  while (true) {
    int status = 0;
    pid_t r = wait4(program, &status, 0, &usage);
    if (r == program) {
      program_status = status;
      break;
    }
    if (r < 0 && errno != EINTR) Fail("wait", errno);
  }
  long cpu_ms = usage.ru_utime.tv_sec * 1000 + usage.ru_utime.tv_usec / 1000 +
                usage.ru_stime.tv_sec * 1000 + usage.ru_stime.tv_usec / 1000;
  if (o.probe) {
    if (WIFEXITED(program_status) && WEXITSTATUS(program_status) == 0) Report("exit 0 0");
    _exit(WIFEXITED(program_status) ? WEXITSTATUS(program_status) : kSetupFailed);
  }
  if (host_dir_fd >= 0 && !o.collect.empty()) {
    int tmpfs_fd = open(o.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (const std::string& name : o.collect) {
      if (tmpfs_fd >= 0) CopyFile(tmpfs_fd, host_dir_fd, name, o.file_bytes);
    }
    if (tmpfs_fd >= 0) close(tmpfs_fd);
  }
  if (WIFEXITED(program_status)) {
    // After an exec failure ("error exec ..." came first) this reports exit 127.
    Report("exit " + std::to_string(WEXITSTATUS(program_status)) + " " + std::to_string(cpu_ms));
  } else if (WIFSIGNALED(program_status)) {
    Report("signal " + std::to_string(WTERMSIG(program_status)) + " " + std::to_string(cpu_ms));
  }
  // Ending here (as a PID namespace's init) kills whatever the program left behind.
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  report_open = fcntl(kReportFd, F_SETFD, FD_CLOEXEC) == 0;
  // Nothing the runner's process had open leaks to the program beyond stdin, stdout, stderr.
  syscall(SYS_close_range, kReportFd + 1, ~0U, 0);
  // Die with the runner that spawned us, whatever happens to it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  Options o = Parse(argc, argv);
  EnterNamespaces(o);
  // After unshare(CLONE_NEWPID) only our children live in the new namespace: the first is its init.
  pid_t init = fork();
  if (init < 0) Fail("fork", errno);
  if (init == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (o.readonly_root) MakeRootReadOnly(o);
    Supervise(o);
  }
  int status = 0;
  while (waitpid(init, &status, 0) < 0) {
    if (errno != EINTR) Fail("wait", errno);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  Report("error sandbox init killed by signal " + std::to_string(WTERMSIG(status)));
  return kSetupFailed;
}
