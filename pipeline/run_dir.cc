// The run directory (see run_dir.h): run.yaml refusal rules, path layout, and atomic checkpoints.
#include "pipeline/run_dir.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

constexpr absl::string_view kCheckpointPrefix = "step-";

// "line N: old "..." vs new "..."" for the first line where `a` and `b` differ.
std::string FirstDifference(absl::string_view a, absl::string_view b) {
  std::vector<absl::string_view> la = absl::StrSplit(a, '\n');
  std::vector<absl::string_view> lb = absl::StrSplit(b, '\n');
  for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    absl::string_view x = i < la.size() ? la[i] : "<end of file>";
    absl::string_view y = i < lb.size() ? lb[i] : "<end of file>";
    if (x != y) {
      return absl::StrCat("line ", i + 1, ": run.yaml has \"", absl::StripAsciiWhitespace(x),
                          "\", this config \"", absl::StripAsciiWhitespace(y), "\"");
    }
  }
  return "no difference";
}

}  // namespace

std::string CheckpointName(int64_t step) {
  return absl::StrFormat("%s%06d", kCheckpointPrefix, step);
}

std::optional<int64_t> ParseCheckpointName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kCheckpointPrefix) || name.size() < 6) return std::nullopt;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t step = 0;
  if (!absl::SimpleAtoi(name, &step)) return std::nullopt;
  return step;
}

absl::StatusOr<RunDir> RunDir::Create(const std::string& root, absl::string_view resolved_yaml) {
  RunDir dir(root);
  if (PathExists(root)) {
    if (!IsDirectory(root)) {
      return absl::FailedPreconditionError(
          absl::StrCat("run directory ", root, " exists and is not a directory"));
    }
    R1_ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDir(root));
    if (!entries.empty()) {
      if (!PathExists(dir.RunYamlPath())) {
        return absl::FailedPreconditionError(
            absl::StrCat("run directory ", root,
                         " is not empty and has no run.yaml (not a run directory); "
                         "choose another run_dir"));
      }
      R1_ASSIGN_OR_RETURN(std::string existing, ReadFile(dir.RunYamlPath()));
      if (existing != resolved_yaml) {
        return absl::FailedPreconditionError(
            absl::StrCat("run directory ", root, " holds a different run (",
                         FirstDifference(existing, resolved_yaml),
                         "); choose another run_dir, or resume that run with its own run.yaml"));
      }
      return dir;
    }
  }
  R1_RETURN_IF_ERROR(MakeDirs(root));
  R1_RETURN_IF_ERROR(WriteFileAtomic(dir.RunYamlPath(), resolved_yaml));
  return dir;
}

absl::StatusOr<RunDir> RunDir::Open(const std::string& root) {
  RunDir dir(root);
  if (!PathExists(dir.RunYamlPath())) {
    return absl::NotFoundError(
        absl::StrCat("no run to resume in ", root, ": ", dir.RunYamlPath(), " is missing"));
  }
  return dir;
}

std::string RunDir::RunYamlPath() const { return JoinPath(root_, "run.yaml"); }
std::string RunDir::JournalPath() const { return JoinPath(root_, "journal"); }
absl::StatusOr<std::string> RunDir::ReadRunYaml() const { return ReadFile(RunYamlPath()); }

std::string RunDir::StageDir(absl::string_view stage) const { return JoinPath(root_, stage); }
std::string RunDir::CheckpointsDir(absl::string_view stage) const {
  return JoinPath(StageDir(stage), "checkpoints");
}
std::string RunDir::CheckpointDir(absl::string_view stage, int64_t step) const {
  return JoinPath(CheckpointsDir(stage), CheckpointName(step));
}
std::string RunDir::OutputDir(absl::string_view stage) const {
  return JoinPath(StageDir(stage), "output");
}
std::string RunDir::MetricsPath(absl::string_view stage) const {
  return JoinPath(StageDir(stage), "metrics.jsonl");
}
std::string RunDir::SamplesPath(absl::string_view stage) const {
  return JoinPath(StageDir(stage), "samples.jsonl");
}
std::string RunDir::TensorBoardDir(absl::string_view stage) const {
  return JoinPath(JoinPath(root_, "tensorboard"), stage);
}

absl::StatusOr<std::string> RunDir::BeginCheckpoint(absl::string_view stage, int64_t step) const {
  if (step < 0) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint step must be >= 0, got ", step));
  }
  R1_RETURN_IF_ERROR(MakeDirs(CheckpointsDir(stage)));
  return MakeTempDirBeside(CheckpointDir(stage, step));
}

absl::Status RunDir::CommitCheckpoint(const std::string& temp_dir, absl::string_view stage,
                                      int64_t step) const {
  return RenameDirAtomic(temp_dir, CheckpointDir(stage, step));
}

absl::StatusOr<std::vector<int64_t>> RunDir::CheckpointSteps(absl::string_view stage) const {
  std::vector<int64_t> steps;
  std::string dir = CheckpointsDir(stage);
  if (!IsDirectory(dir)) return steps;
  R1_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  for (const auto& name : names) {
    std::optional<int64_t> step = ParseCheckpointName(name);
    if (step && IsDirectory(JoinPath(dir, name))) steps.push_back(*step);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

absl::StatusOr<std::optional<int64_t>> RunDir::LatestCheckpointStep(absl::string_view stage) const {
  R1_ASSIGN_OR_RETURN(std::vector<int64_t> steps, CheckpointSteps(stage));
  if (steps.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(steps.back());
}

absl::StatusOr<int> RunDir::RemoveIncompleteCheckpoints(absl::string_view stage) const {
  std::string dir = CheckpointsDir(stage);
  if (!IsDirectory(dir)) return 0;
  R1_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  int removed = 0;
  for (const auto& name : names) {
    if (ParseCheckpointName(name) || name.find(".tmp-") == std::string::npos) continue;
    R1_RETURN_IF_ERROR(RemoveAll(JoinPath(dir, name)));
    ++removed;
  }
  return removed;
}

}  // namespace r1
