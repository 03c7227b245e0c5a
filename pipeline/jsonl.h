// JSON-lines files: a streaming reader (one JSON object per line, errors name "file:line") and
// writers (append line by line, or write a whole file atomically). Datasets, metrics and samples
// are all stored this way.
#ifndef R1_PIPELINE_JSONL_H_
#define R1_PIPELINE_JSONL_H_

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace r1 {

struct JsonlReadOptions {
  // false: the first bad line (invalid JSON, not an object, or rejected by the caller through
  // JsonlReader::Reject) fails the read with an error "FILE:LINE: problem".
  // true: bad lines are skipped and counted in JsonlReadStats::skipped_lines.
  bool skip_bad_lines = false;
  // How many skip messages JsonlReadStats::skipped_messages keeps (the count is always exact).
  int32_t max_kept_skip_messages = 10;
};

// What a read saw. Lines are counted 1-based; empty (all-whitespace) lines are ignored.
struct JsonlReadStats {
  int64_t lines = 0;                          // physical lines read, empty ones included
  int64_t records = 0;                        // objects handed to the caller and not rejected
  int64_t skipped_lines = 0;                  // bad lines skipped (only with skip_bad_lines)
  std::vector<std::string> skipped_messages;  // the first few "FILE:LINE: problem" messages

  // "7473 records, 2 bad lines skipped (first: train.jsonl:12: invalid JSON ...)" style summary.
  std::string Summary() const;
};

// Reads a JSONL file line by line without loading it whole. Accepts "\n" and "\r\n" line ends
// and a UTF-8 byte-order mark at the start. Not thread-safe; one reader per thread.
class JsonlReader {
 public:
  // NotFound naming `path` if it cannot be opened.
  static absl::StatusOr<std::unique_ptr<JsonlReader>> Open(const std::string& path,
                                                           JsonlReadOptions options = {});

  // Reads the next object into `*object` and returns true, or returns false at end of file.
  // A bad line is an InvalidArgument error "PATH:LINE: ..." or, with skip_bad_lines, is skipped
  // and counted (Next then goes on to the following line).
  absl::StatusOr<bool> Next(nlohmann::json* object);

  // Called by a typed reader when the object Next just returned is unusable (a missing or
  // wrong-typed field): returns InvalidArgument "PATH:LINE: <why>" or, with skip_bad_lines,
  // counts the line as skipped and returns OK.
  absl::Status Reject(const absl::Status& why);

  // 1-based number of the line Next last returned (0 before the first).
  int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }
  const JsonlReadStats& stats() const { return stats_; }

 private:
  JsonlReader(std::string path, JsonlReadOptions options);
  // Error or skip for the current line.
  absl::Status BadLine(const std::string& why);

  std::string path_;
  JsonlReadOptions options_;
  std::ifstream in_;
  int64_t line_number_ = 0;
  JsonlReadStats stats_;
};

// Reads every object of `path`, calling `fn(object, line_number)`; a non-OK status from `fn`
// goes through JsonlReader::Reject (error naming file:line, or skipped and counted). `stats` may
// be null.
absl::Status ForEachJsonl(const std::string& path, const JsonlReadOptions& options,
                          const std::function<absl::Status(const nlohmann::json&, int64_t)>& fn,
                          JsonlReadStats* stats);

// Reads all objects of `path` into memory.
absl::StatusOr<std::vector<nlohmann::json>> ReadJsonl(const std::string& path,
                                                      const JsonlReadOptions& options = {},
                                                      JsonlReadStats* stats = nullptr);

// One JSONL line for `object`, without the trailing newline: compact, and invalid UTF-8 in
// strings is replaced by U+FFFD rather than failing. InvalidArgument if `object` is not an object.
absl::StatusOr<std::string> ToJsonlLine(const nlohmann::json& object);

// Appends lines to a file through a buffered stream. Not thread-safe.
class JsonlWriter {
 public:
  // Opens `path` for appending (created if missing), or truncates it first when `truncate`.
  static absl::StatusOr<std::unique_ptr<JsonlWriter>> Open(const std::string& path,
                                                           bool truncate = false);
  ~JsonlWriter();

  // Writes one object as a line. InvalidArgument if it is not an object; Internal on I/O error.
  absl::Status Write(const nlohmann::json& object);
  // Flushes buffered lines to the OS and fsyncs the file.
  absl::Status Flush();
  // Flushes and closes; later writes fail. Also done (errors ignored) by the destructor.
  absl::Status Close();

 private:
  JsonlWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  std::string path_;
  std::FILE* file_;
};

// Appends one line to `path` and fsyncs it (base/file_util.h AppendFileSynced): for logs written
// a line at a time, such as metrics.jsonl.
absl::Status AppendJsonlLine(const std::string& path, const nlohmann::json& object);

// Writes all `objects` to `path` atomically (temp file + fsync + rename): readers see the old
// file or the whole new one.
absl::Status WriteJsonlAtomic(const std::string& path, const std::vector<nlohmann::json>& objects);

}  // namespace r1

#endif  // R1_PIPELINE_JSONL_H_
