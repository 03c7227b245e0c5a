// Runs untrusted programs (generated code) in a sandbox: each run gets a fresh temporary directory,
// its own process group, rlimits, a wall-clock timeout that kills everything it started, capped
// output, and as much isolation as the kernel allows (network, PID and mount namespaces, an
// unprivileged uid). The isolating steps happen in a small helper executable (r1-sandbox-exec,
// built from sandbox/exec/) started with posix_spawn, so no process that may hold LibTorch or gRPC
// threads ever forks.
#ifndef R1_SANDBOX_SANDBOX_H_
#define R1_SANDBOX_SANDBOX_H_

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace r1 {

// Limits of one run.
struct SandboxLimits {
  absl::Duration wall_timeout = absl::Seconds(10);  // then the whole run is killed
  int64_t cpu_seconds = 10;                         // RLIMIT_CPU (SIGXCPU, SIGKILL 1 s later)
  int64_t memory_bytes = 512ll << 20;               // RLIMIT_AS (address space)
  int64_t file_bytes = 16ll << 20;                  // RLIMIT_FSIZE (largest file written)
  int64_t open_files = 64;                          // RLIMIT_NOFILE
  int64_t processes = 32;              // RLIMIT_NPROC of the sandbox uid (see SandboxOptions)
  int64_t max_output_bytes = 1 << 20;  // stdout and stderr each; beyond it the run is killed
  // All files of the run directory together (it is a tmpfs of this size, in memory) where a mount
  // namespace exists (isolation().readonly_root); elsewhere only file_bytes per file holds.
  int64_t disk_bytes = 64ll << 20;
};

struct SandboxOptions {
  // The helper executable. Empty: $R1_SANDBOX_EXEC, else "r1-sandbox-exec" next to this process's
  // executable, else in PATH.
  std::string helper_path;
  // Where run directories are created (empty: $TMPDIR, else /tmp).
  std::string temp_root;
  // Runs allowed at the same time; Run blocks for a free slot beyond that (>= 1).
  int32_t max_parallel = 4;
  // As root, slot i runs as uid and gid uid_base + i (ids no one else should use): the processes
  // limit then counts only that run's processes, and the program cannot signal or ptrace the
  // runner. Without root the program keeps the caller's uid (see isolation()).
  int64_t uid_base = 61000;
  // Without a network namespace Create fails unless this is true (then programs may reach the
  // network and the host's loopback services).
  bool allow_unisolated = false;
};

// What isolation runs get on this machine (found by Create's probe).
struct SandboxIsolation {
  bool network_namespace = false;  // no network at all (a fresh, down loopback)
  bool pid_namespace = false;      // the program sees and signals only its own processes, and all
                                   // of them die with it
  bool readonly_root = false;      // every file system is read-only except the run directory
  bool separate_uid = false;       // runs under uid_base + slot, not the caller's uid
  std::string ToString() const;    // "network namespace, pid namespace, ..." or "none"
};

struct SandboxFile {
  std::string name;  // a plain file name (no '/'), created in the run directory
  std::string content;
  bool executable = false;
};

struct SandboxRequest {
  std::vector<std::string> argv;   // argv[0]: an absolute path, or a file of `files` ("./a.out")
  std::vector<SandboxFile> files;  // written to the run directory first
  std::string stdin_text;
  // Files to copy back out of the run directory after the run (e.g. a compiled binary); a file
  // that is missing or larger than max_output_bytes is left out.
  std::vector<std::string> collect;
};

struct SandboxResult {
  enum class End {
    kExited,        // exit_code is valid
    kSignaled,      // signal is valid (a CPU-limit kill is kCpuLimit instead)
    kCpuLimit,      // RLIMIT_CPU reached
    kWallTimeout,   // killed at wall_timeout
    kOutputLimit,   // stdout or stderr exceeded max_output_bytes; killed
    kSandboxError,  // the sandbox failed (setup, exec of argv[0]); see error
  };
  End end = End::kSandboxError;
  int exit_code = 0;
  int signal = 0;
  std::string stdout_text;  // at most max_output_bytes each
  std::string stderr_text;
  std::string error;  // kSandboxError: what failed
  absl::Duration wall_time;
  int64_t cpu_ms = 0;  // the program's CPU time (with its children), when it ended by itself
  std::vector<SandboxFile> collected;  // the request's `collect` files that existed
  bool ok() const { return end == End::kExited && exit_code == 0; }
  std::string Describe() const;  // "exit code 1", "killed by signal 11", "CPU limit", ...
};

// A configured sandbox. Thread-safe: Run may be called from many threads; at most max_parallel
// runs proceed at once.
class Sandbox {
 public:
  // Finds the helper and probes the isolation available (trial runs). Errors: NotFound for a
  // missing helper; FailedPrecondition when the helper cannot start anything (e.g. the run
  // directory's parent is closed to the sandbox uid), or when no network namespace can be made
  // and !allow_unisolated (naming the option); InvalidArgument for bad limits or options.
  static absl::StatusOr<std::unique_ptr<Sandbox>> Create(const SandboxLimits& limits,
                                                         const SandboxOptions& options);

  // Runs one program in a fresh directory, removed afterwards. A program's failure (any exit,
  // crash, timeout, output flood) is a result; an error Status only for a bad request
  // (InvalidArgument) or when the runner itself cannot work (Internal: no temp dir, no pipes).
  absl::StatusOr<SandboxResult> Run(const SandboxRequest& request) const;
  // The same with other limits (e.g. a longer one for a compiler).
  absl::StatusOr<SandboxResult> Run(const SandboxRequest& request,
                                    const SandboxLimits& limits) const;

  const SandboxIsolation& isolation() const { return isolation_; }
  const SandboxLimits& limits() const { return limits_; }
  const std::string& helper_path() const { return helper_path_; }

 private:
  Sandbox(SandboxLimits limits, SandboxOptions options, std::string helper_path);
  int32_t AcquireSlot() const;
  void ReleaseSlot(int32_t slot) const;
  absl::StatusOr<SandboxResult> RunInSlot(const SandboxRequest& request,
                                          const SandboxLimits& limits, int32_t slot,
                                          bool probe) const;

  SandboxLimits limits_;
  SandboxOptions options_;
  std::string helper_path_;
  SandboxIsolation isolation_;
  mutable std::mutex mu_;
  mutable std::condition_variable slot_freed_;
  mutable std::vector<bool> slot_busy_;  // guarded by mu_
};

// Removes `path` and everything below it without following symbolic links, first making each
// directory accessible again (a program may have chmod'ed them). Missing path: OK.
absl::Status RemoveTreeForce(const std::string& path);

}  // namespace r1

#endif  // R1_SANDBOX_SANDBOX_H_
