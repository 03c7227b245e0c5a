// TensorBoard event files: a stage's per-step scalars as
// RUN_DIR/tensorboard/STAGE/events.out.tfevents.<unix_seconds>.<hostname>, so that
// `tensorboard --logdir RUN_DIR/tensorboard` charts every stage as a run of its own.
//
// File format (TFRecord framing, written from its specification): a sequence of records, each
//   uint64 length (little endian) | uint32 masked CRC-32C of those 8 bytes
//   | data[length] | uint32 masked CRC-32C of data
// where data is a serialized tensorboard.Event (proto/tensorboard/event.proto). The first event
// of a file carries file_version "brain.Event:2"; every other event holds one step's scalars as
// Summary values (tag = metric name, simple_value = the value as a float).
#ifndef R1_PIPELINE_TENSORBOARD_H_
#define R1_PIPELINE_TENSORBOARD_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

// Appends scalar events to the one event file of a directory. The directory and the file are
// made on the first write; when the directory already holds an event file (a resumed stage), the
// newest one (by name) is reopened and appended to, after a torn tail left by a crash is cut
// off. Every write is appended and fsync'd like metrics.jsonl, so a crash loses at most the event
// being written. Thread-safe.
class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(std::string dir) : dir_(std::move(dir)) {}

  // Appends one event at `step` holding every entry of `values` as a scalar (tag = key; the
  // value rounded to float, NaN and inf kept as such). DataLoss when an existing event file is
  // damaged before its end (the error names the file and the byte offset); file errors otherwise.
  absl::Status Write(int64_t step, const std::map<std::string, double>& values);

  const std::string& dir() const { return dir_; }
  // The event file written to; empty before the first successful Write.
  std::string path() const;

 private:
  absl::Status OpenLocked();  // requires mu_

  std::string dir_;
  mutable std::mutex mu_;
  std::string path_;  // guarded by mu_
};

// True for the names TensorBoard reads as event files and this module writes:
// "events.out.tfevents.*", excluding the temporary files of an atomic rewrite (".tmp-").
bool IsEventFileName(absl::string_view name);

// The event files of `dir` (full paths, sorted by name); empty when `dir` does not exist.
absl::StatusOr<std::vector<std::string>> ListEventFiles(const std::string& dir);

// One TFRecord around `data`: length, masked CRC of the length, data, masked CRC of the data.
std::string FrameTfRecord(absl::string_view data);

// The records of a TFRecord file.
struct TfRecordFile {
  std::vector<std::string> records;  // payloads, in file order
  std::vector<int64_t> offsets;      // byte offset of each record's header
  // Bytes at the end that hold an interrupted append, not a record: a header shorter than 12
  // bytes, a record whose length runs past the end of the file, or a last record whose data
  // CRC does not match. 0 for a clean file.
  int64_t torn_tail_bytes = 0;
};

// Reads every record of `path`. A torn tail (see TfRecordFile) is reported, not an error. DataLoss
// naming the file and the record's byte offset when a record before the end is damaged: a
// length CRC that does not match, or a data CRC that does not match with more bytes after the
// record. NotFound when the file is missing.
absl::StatusOr<TfRecordFile> ReadTfRecordFile(const std::string& path);

// For a stage resumed from the checkpoint of `step`: rewrites every event file in `dir`
// (atomically) keeping the events with step <= `step` (the file_version event has step 0) and
// dropping a torn tail; a file that would not change is left alone. Also removes temporary files
// of an interrupted rewrite. A missing `dir` is fine. Returns how many events were dropped.
// DataLoss (file and offset) for a file damaged before its end or holding a record that is not
// an Event.
absl::StatusOr<int64_t> TruncateTensorBoardAfterStep(const std::string& dir, int64_t step);

}  // namespace r1

#endif  // R1_PIPELINE_TENSORBOARD_H_
