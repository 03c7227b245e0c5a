// Child processes without fork(): posix_spawn + exec of a fresh program (a process that has
// started LibTorch or gRPC threads must never fork), in its own process group so that a whole
// launcher tree (mpirun and its ranks) can be signalled at once, with bounded waits.
#ifndef R1_BASE_SUBPROCESS_H_
#define R1_BASE_SUBPROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace r1 {

struct SpawnOptions {
  // Environment entries set (or overridden) in the child; the rest is inherited.
  std::map<std::string, std::string> env;
  // stdout and stderr of the child are appended to this file when non-empty (created 0644);
  // otherwise inherited. stdin is always /dev/null.
  std::string log_file;
  // The child leads a new process group (its pid is the group id), so KillGroup reaches it and
  // everything it starts.
  bool new_process_group = true;
};

// How a child ended.
struct ExitInfo {
  bool exited = false;  // normal exit (exit_code valid)
  int exit_code = 0;
  int signal = 0;                // the signal that killed it, when !exited
  std::string ToString() const;  // "exit code 3", "killed by signal 9 (Killed)"
};

// A spawned child. Movable, not copyable. Destruction does not kill or reap the child: call
// Terminate() or Wait() first (a destroyed running Subprocess leaves the child running).
// Thread-safety: one thread at a time.
class Subprocess {
 public:
  // Spawns argv[0] (searched in PATH when it has no '/'). Errors: InvalidArgument (empty argv),
  // NotFound / Internal naming the program and errno text when the spawn fails.
  static absl::StatusOr<Subprocess> Spawn(const std::vector<std::string>& argv,
                                          const SpawnOptions& options = {});

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess() = default;

  pid_t pid() const { return pid_; }
  // True until the child has been reaped (by Poll, Wait or Terminate).
  bool running();
  // Non-blocking: the exit info once the child ended (reaping it), else nullopt-like error
  // Unavailable("still running").
  absl::StatusOr<ExitInfo> Poll();
  // Waits at most `timeout` (absl::InfiniteDuration() for ever): DeadlineExceeded if it is still
  // running then.
  absl::StatusOr<ExitInfo> Wait(absl::Duration timeout);
  // Sends `signal` to the child's process group (or the child alone without one).
  void Signal(int signal);
  // SIGTERM to the group, waits up to `grace`, then SIGKILL and reaps. Returns how it ended.
  ExitInfo Terminate(absl::Duration grace);

 private:
  Subprocess(pid_t pid, bool group) : pid_(pid), group_(group) {}
  pid_t pid_ = -1;
  bool group_ = false;
  bool reaped_ = false;
  ExitInfo exit_;
};

// The absolute path of this process's executable (/proc/self/exe).
absl::StatusOr<std::string> SelfExecutable();

// Finds `program` in PATH; NotFound when absent.
absl::StatusOr<std::string> FindInPath(const std::string& program);

}  // namespace r1

#endif  // R1_BASE_SUBPROCESS_H_
