// The run journal (RUN_DIR/journal): an append-only log of stage transitions, one JSON object per
// line, each fsync'd before Append returns. Replaying it gives every stage's state, which is how
// `r1 run --resume` knows what to skip and where to restart.
//
// Line format: {"stage":"sft","event":"running","attempt":1,"step":-1,"time_ms":1700000000000}
// plus "error" on failures. Events: pending, running, checkpoint (a complete checkpoint at
// "step" now exists; the stage stays running), succeeded, failed.
#ifndef R1_PIPELINE_JOURNAL_H_
#define R1_PIPELINE_JOURNAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

enum class StageState { kPending, kRunning, kSucceeded, kFailed };
absl::string_view StageStateName(StageState state);  // "pending", "running", ...

enum class JournalEvent { kPending, kRunning, kCheckpoint, kSucceeded, kFailed };
absl::string_view JournalEventName(JournalEvent event);
std::optional<JournalEvent> ParseJournalEvent(absl::string_view name);

struct JournalRecord {
  std::string stage;
  JournalEvent event = JournalEvent::kPending;
  int32_t attempt = 0;  // 1 for the first run of a stage; 0 before it ever ran
  int64_t step = -1;    // checkpoint: its optimizer step; otherwise -1
  int64_t time_ms = 0;  // wall clock, ms since the Unix epoch; 0: filled in by Append
  std::string error;    // failed: why
};

// A stage's state after replay.
struct StageStatus {
  StageState state = StageState::kPending;
  int32_t attempt = 0;           // attempts started so far
  int64_t checkpoint_step = -1;  // newest journaled checkpoint (any attempt); -1: none
  int64_t last_time_ms = 0;      // time of the stage's last record
  std::string error;             // last failure
};

struct JournalReplay {
  std::map<std::string, StageStatus> stages;  // stages that appear in the journal
  int64_t records = 0;                        // complete records read
  // The last line had no newline: a crash interrupted its write. It is ignored (never fsync'd,
  // so never reported as done); torn_tail_line is its 1-based line number, 0 if none.
  bool torn_tail = false;
  int64_t torn_tail_line = 0;
  int64_t valid_bytes = 0;  // length of the prefix made of complete lines
};

// Replays journal text. InvalidArgument naming `source` and the 1-based line for a line that is
// not a valid record, or an impossible transition (e.g. succeeded -> running, a checkpoint of a
// stage that is not running). A torn last line is not an error (see JournalReplay).
absl::StatusOr<JournalReplay> ReplayJournalText(absl::string_view text,
                                                absl::string_view source = "journal");

// Replays the journal file at `path`; a missing file is an empty journal.
absl::StatusOr<JournalReplay> ReplayJournal(const std::string& path);

// Appends records to a journal file. Thread-safe (appends are serialized).
class Journal {
 public:
  // Replays `path` (stored in *replay when non-null) and opens it for appending. A torn tail is
  // cut off first, so the next record starts on a fresh line. Errors as ReplayJournal, or the
  // file error.
  static absl::StatusOr<std::unique_ptr<Journal>> Open(const std::string& path,
                                                       JournalReplay* replay = nullptr);

  // Checks the transition against the replayed state, then appends one line and fsyncs it.
  // FailedPrecondition for an impossible transition (nothing is written).
  absl::Status Append(JournalRecord record);

  // Current state of every stage seen so far (replayed + appended).
  std::map<std::string, StageStatus> Stages() const;
  const std::string& path() const { return path_; }

 private:
  explicit Journal(std::string path) : path_(std::move(path)) {}
  std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, StageStatus> stages_;  // guarded by mu_
};

// Applies `record` to `status` (the stage's state so far, or a fresh StageStatus). Error text
// describes an impossible transition, e.g. `stage "sft" is succeeded; cannot become running`.
absl::Status ApplyJournalRecord(const JournalRecord& record, StageStatus* status);

}  // namespace r1

#endif  // R1_PIPELINE_JOURNAL_H_
