// Runs the built r1 binary as a user would, for the CLI and GPU tests: the one place that knows its
// path, the environment it gets (one BLAS thread, one r1 thread) and how its output is captured.
// Header-only, no LibTorch; r1 is started with posix_spawn (base/subprocess.h), never fork(), and
// every wait is bounded.
#ifndef R1_TESTS_RUN_R1_H_
#define R1_TESTS_RUN_R1_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/file_util.h"
#include "base/subprocess.h"

namespace r1::testing_util {

// How r1 is run and where its output goes.
struct R1Options {
  std::string stdin_text;     // fed on stdin
  bool merge_stderr = false;  // stderr goes to stdout ("2>&1"), interleaved as written
  std::string stdout_path;  // "": a scratch file, removed after; else kept (readable while r1 runs)
  std::string stderr_path;  // likewise (unused with merge_stderr)
  std::map<std::string, std::string> env;      // on top of OPENBLAS_NUM_THREADS=1, R1_THREADS=1
  absl::Duration timeout = absl::Minutes(10);  // then r1's process group is killed
};

// What a run of r1 left.
struct R1Result {
  int exit_code = -1;  // -1: r1 did not exit by itself (killed, timed out, could not start)
  std::string out;     // stdout; with merge_stderr, stderr too
  std::string err;     // stderr; empty with merge_stderr
  double seconds = 0;  // wall time from start to exit
};

// An r1 started in the background (StartR1). Finish it once; a test may use `process` meanwhile
// (running(), Signal, ...).
struct R1Process {
  std::optional<Subprocess> process;  // empty when the spawn failed (the test has failed then)
  absl::Time start;
  absl::Duration timeout;
  std::string out_path;
  std::string err_path;              // "" with merge_stderr
  std::vector<std::string> scratch;  // files made for this run, removed by Finish

  // Waits for r1 (at most `timeout`, then kills its process group) and collects its output.
  R1Result Finish() {
    R1Result result;
    if (process) {
      absl::StatusOr<ExitInfo> exit = process->Wait(timeout);
      if (!exit.ok()) process->Terminate(absl::Seconds(5));
      if (exit.ok() && exit->exited) result.exit_code = exit->exit_code;
    }
    result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    result.out = ReadFile(out_path).value_or("");
    result.err = err_path.empty() ? "" : ReadFile(err_path).value_or("");
    for (const std::string& path : scratch) RemoveAll(path).IgnoreError();
    return result;
  }
};

// Starts `r1 ARGS` (ARGS is split by the shell, as typed).
inline R1Process StartR1(const std::string& args, const R1Options& options = {}) {
  static std::atomic<int> runs{0};
  const std::string scratch =
      absl::StrCat(::testing::TempDir(), "/r1_run_", ::getpid(), "_", runs++);
  R1Process run;
  run.timeout = options.timeout;
  auto path = [&](const std::string& given, const char* suffix) {
    if (!given.empty()) return given;
    run.scratch.push_back(scratch + suffix);
    return run.scratch.back();
  };
  const std::string in = path("", ".in");
  run.out_path = path(options.stdout_path, ".out");
  if (!options.merge_stderr) run.err_path = path(options.stderr_path, ".err");
  EXPECT_TRUE(WriteFileAtomic(in, options.stdin_text).ok());
  const std::string command =
      absl::StrCat("exec " R1_BINARY_DIR "/cli/r1 ", args, " < ", in, " > ", run.out_path,
                   options.merge_stderr ? " 2>&1" : absl::StrCat(" 2> ", run.err_path));
  SpawnOptions spawn;
  spawn.env = {{"OPENBLAS_NUM_THREADS", "1"}, {"R1_THREADS", "1"}};
  for (const auto& [key, value] : options.env) spawn.env[key] = value;
  run.start = absl::Now();
  absl::StatusOr<Subprocess> process = Subprocess::Spawn({"/bin/sh", "-c", command}, spawn);
  EXPECT_TRUE(process.ok()) << process.status();
  if (process.ok()) run.process = std::move(*process);
  return run;
}

// Options for reading r1's output as a terminal shows it: stdout and stderr together in `out`.
inline R1Options MergedOutput() {
  R1Options options;
  options.merge_stderr = true;
  return options;
}

// Runs `r1 ARGS` to the end (bounded by options.timeout).
inline R1Result RunR1(const std::string& args, const R1Options& options = {}) {
  return StartR1(args, options).Finish();
}

}  // namespace r1::testing_util

#endif  // R1_TESTS_RUN_R1_H_
