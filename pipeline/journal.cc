// The run journal (see journal.h): JSON lines appended with AppendFileSynced, replayed into
// per-stage states with the transition rules in ApplyJournalRecord.
#include "pipeline/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

constexpr std::pair<JournalEvent, absl::string_view> kEventNames[] = {
    {JournalEvent::kPending, "pending"},       {JournalEvent::kRunning, "running"},
    {JournalEvent::kCheckpoint, "checkpoint"}, {JournalEvent::kSucceeded, "succeeded"},
    {JournalEvent::kFailed, "failed"},
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json RecordToJson(const JournalRecord& r) {
  nlohmann::json j = {{"stage", r.stage},
                      {"event", std::string(JournalEventName(r.event))},
                      {"attempt", r.attempt},
                      {"step", r.step},
                      {"time_ms", r.time_ms}};
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

// Parses one line; the error says what is wrong with it (the caller adds where).
absl::StatusOr<JournalRecord> RecordFromLine(absl::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  JournalRecord r;
  auto stage = j.find("stage");
  if (stage == j.end() || !stage->is_string() || stage->get<std::string>().empty()) {
    return absl::InvalidArgumentError("missing \"stage\"");
  }
  r.stage = stage->get<std::string>();
  auto event = j.find("event");
  std::optional<JournalEvent> e;
  if (event != j.end() && event->is_string()) e = ParseJournalEvent(event->get<std::string>());
  if (!e) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad \"event\" ", event == j.end() ? "(missing)" : event->dump()));
  }
  r.event = *e;
  auto get_int = [&](const char* key, int64_t* out) -> absl::Status {
    auto it = j.find(key);
    if (it == j.end()) return absl::OkStatus();
    if (!it->is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" is not an integer"));
    }
    *out = it->get<int64_t>();
    return absl::OkStatus();
  };
  int64_t attempt = 0;
  R1_RETURN_IF_ERROR(get_int("attempt", &attempt));
  r.attempt = static_cast<int32_t>(attempt);
  R1_RETURN_IF_ERROR(get_int("step", &r.step));
  R1_RETURN_IF_ERROR(get_int("time_ms", &r.time_ms));
  auto error = j.find("error");
  if (error != j.end() && error->is_string()) r.error = error->get<std::string>();
  return r;
}

}  // namespace

absl::string_view StageStateName(StageState state) {
  switch (state) {
    case StageState::kPending:
      return "pending";
    case StageState::kRunning:
      return "running";
    case StageState::kSucceeded:
      return "succeeded";
    case StageState::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::string_view JournalEventName(JournalEvent event) {
  for (const auto& [e, name] : kEventNames) {
    if (e == event) return name;
  }
  return "unknown";
}

std::optional<JournalEvent> ParseJournalEvent(absl::string_view name) {
  for (const auto& [e, n] : kEventNames) {
    if (n == name) return e;
  }
  return std::nullopt;
}

absl::Status ApplyJournalRecord(const JournalRecord& r, StageStatus* s) {
  auto bad = [&]() {
    return absl::FailedPreconditionError(absl::StrCat(
        "stage \"", r.stage, "\" is ", StageStateName(s->state), "; cannot ",
        r.event == JournalEvent::kCheckpoint ? "record a checkpoint"
                                             : absl::StrCat("become ", JournalEventName(r.event))));
  };
  if (s->state == StageState::kSucceeded) return bad();
  switch (r.event) {
    case JournalEvent::kPending:
      s->state = StageState::kPending;
      break;
    case JournalEvent::kRunning:
      if (r.attempt < 1 || r.attempt <= s->attempt) {
        return absl::FailedPreconditionError(absl::StrCat("stage \"", r.stage, "\": attempt ",
                                                          r.attempt, " must be > ", s->attempt,
                                                          " (the previous attempt)"));
      }
      s->state = StageState::kRunning;
      s->attempt = r.attempt;
      s->error.clear();
      break;
    case JournalEvent::kCheckpoint:
      if (s->state != StageState::kRunning) return bad();
      if (r.step < 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("stage \"", r.stage, "\": checkpoint step must be >= 0, got ", r.step));
      }
      s->checkpoint_step = r.step;
      break;
    case JournalEvent::kSucceeded:
      if (s->state != StageState::kRunning) return bad();
      s->state = StageState::kSucceeded;
      break;
    case JournalEvent::kFailed:
      if (s->state == StageState::kFailed) return bad();
      s->state = StageState::kFailed;
      s->error = r.error;
      break;
  }
  s->last_time_ms = r.time_ms;
  return absl::OkStatus();
}

absl::StatusOr<JournalReplay> ReplayJournalText(absl::string_view text, absl::string_view source) {
  JournalReplay replay;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t nl = text.find('\n', pos);
    if (nl == absl::string_view::npos) {  // unterminated: the write never completed
      replay.torn_tail = true;
      replay.torn_tail_line = line_no;
      break;
    }
    absl::string_view line = text.substr(pos, nl - pos);
    absl::StatusOr<JournalRecord> record = RecordFromLine(line);
    if (!record.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", line_no, ": corrupt record (",
                                                     record.status().message(), "): ", line));
    }
    absl::Status applied = ApplyJournalRecord(*record, &replay.stages[record->stage]);
    if (!applied.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line_no, ": ", applied.message()));
    }
    ++replay.records;
    pos = nl + 1;
    replay.valid_bytes = static_cast<int64_t>(pos);
  }
  return replay;
}

absl::StatusOr<JournalReplay> ReplayJournal(const std::string& path) {
  if (!PathExists(path)) return JournalReplay{};
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ReplayJournalText(text, path);
}

absl::StatusOr<std::unique_ptr<Journal>> Journal::Open(const std::string& path,
                                                       JournalReplay* replay_out) {
  R1_ASSIGN_OR_RETURN(JournalReplay replay, ReplayJournal(path));
  if (replay.torn_tail) {
    int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0) {
      return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
    }
    int rc = ::ftruncate(fd, replay.valid_bytes);
    if (rc == 0) rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
      return absl::InternalError(absl::StrCat("cut torn tail of ", path, ": ", std::strerror(err)));
    }
  }
  std::unique_ptr<Journal> journal(new Journal(path));
  journal->stages_ = replay.stages;
  if (replay_out != nullptr) *replay_out = std::move(replay);
  return journal;
}

absl::Status Journal::Append(JournalRecord record) {
  if (record.time_ms == 0) record.time_ms = NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = stages_.find(record.stage);
  StageStatus next = it == stages_.end() ? StageStatus{} : it->second;
  R1_RETURN_IF_ERROR(ApplyJournalRecord(record, &next));
  std::string line =
      RecordToJson(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  R1_RETURN_IF_ERROR(AppendFileSynced(path_, line));
  stages_[record.stage] = std::move(next);
  return absl::OkStatus();
}

std::map<std::string, StageStatus> Journal::Stages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stages_;
}

}  // namespace r1
