// JSON-lines reading and writing (see jsonl.h).
#include "pipeline/jsonl.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"

namespace r1 {
namespace {

bool IsBlank(const std::string& line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

// Shortens a long message (e.g. a parse error quoting the whole line).
std::string Clip(const std::string& s, size_t max_len = 200) {
  if (s.size() <= max_len) return s;
  return s.substr(0, max_len) + "...";
}

}  // namespace

std::string JsonlReadStats::Summary() const {
  std::string out = absl::StrCat(records, " records");
  if (skipped_lines > 0) {
    absl::StrAppend(&out, ", ", skipped_lines, " bad line", skipped_lines == 1 ? "" : "s",
                    " skipped");
    if (!skipped_messages.empty()) absl::StrAppend(&out, " (first: ", skipped_messages[0], ")");
  }
  return out;
}

JsonlReader::JsonlReader(std::string path, JsonlReadOptions options)
    : path_(std::move(path)), options_(options) {}

absl::StatusOr<std::unique_ptr<JsonlReader>> JsonlReader::Open(const std::string& path,
                                                               JsonlReadOptions options) {
  std::unique_ptr<JsonlReader> reader(new JsonlReader(path, options));
  reader->in_.open(path, std::ios::binary);
  if (!reader->in_.is_open()) {
    int err = errno;
    std::string msg = absl::StrCat("cannot open JSONL file ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    return absl::InvalidArgumentError(msg);
  }
  return reader;
}

absl::Status JsonlReader::BadLine(const std::string& why) {
  std::string msg = absl::StrCat(path_, ":", line_number_, ": ", why);
  if (!options_.skip_bad_lines) return absl::InvalidArgumentError(msg);
  ++stats_.skipped_lines;
  if (static_cast<int64_t>(stats_.skipped_messages.size()) < options_.max_kept_skip_messages) {
    stats_.skipped_messages.push_back(std::move(msg));
  }
  return absl::OkStatus();
}

absl::Status JsonlReader::Reject(const absl::Status& why) {
  if (stats_.records > 0) --stats_.records;  // Next counted it as a record.
  return BadLine(std::string(why.message()));
}

absl::StatusOr<bool> JsonlReader::Next(nlohmann::json* object) {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_number_;
    ++stats_.lines;
    if (line_number_ == 1 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) {
      line.erase(0, 3);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (IsBlank(line)) continue;
    nlohmann::json parsed;
    try {
      parsed = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      R1_RETURN_IF_ERROR(BadLine(Clip(absl::StrCat("invalid JSON: ", e.what()))));
      continue;
    }
    if (!parsed.is_object()) {
      R1_RETURN_IF_ERROR(BadLine(absl::StrCat("expected a JSON object, got ", parsed.type_name())));
      continue;
    }
    ++stats_.records;
    *object = std::move(parsed);
    return true;
  }
  if (in_.bad()) {
    return absl::InternalError(absl::StrCat(path_, ":", line_number_ + 1, ": read error"));
  }
  return false;
}

absl::Status ForEachJsonl(const std::string& path, const JsonlReadOptions& options,
                          const std::function<absl::Status(const nlohmann::json&, int64_t)>& fn,
                          JsonlReadStats* stats) {
  R1_ASSIGN_OR_RETURN(std::unique_ptr<JsonlReader> reader, JsonlReader::Open(path, options));
  nlohmann::json object;
  while (true) {
    R1_ASSIGN_OR_RETURN(bool more, reader->Next(&object));
    if (!more) break;
    absl::Status s = fn(object, reader->line_number());
    if (!s.ok()) R1_RETURN_IF_ERROR(reader->Reject(s));
  }
  if (stats != nullptr) *stats = reader->stats();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<nlohmann::json>> ReadJsonl(const std::string& path,
                                                      const JsonlReadOptions& options,
                                                      JsonlReadStats* stats) {
  std::vector<nlohmann::json> out;
  R1_RETURN_IF_ERROR(ForEachJsonl(
      path, options,
      [&out](const nlohmann::json& object, int64_t) {
        out.push_back(object);
        return absl::OkStatus();
      },
      stats));
  return out;
}

absl::StatusOr<std::string> ToJsonlLine(const nlohmann::json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a JSONL line must be a JSON object, got ", object.type_name()));
  }
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<JsonlWriter>> JsonlWriter::Open(const std::string& path,
                                                               bool truncate) {
  std::FILE* file = std::fopen(path.c_str(), truncate ? "wb" : "ab");
  if (file == nullptr) {
    int err = errno;
    std::string msg = absl::StrCat("cannot open ", path, " for writing: ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    return absl::InternalError(msg);
  }
  return std::unique_ptr<JsonlWriter>(new JsonlWriter(path, file));
}

JsonlWriter::~JsonlWriter() { Close().IgnoreError(); }

absl::Status JsonlWriter::Write(const nlohmann::json& object) {
  if (file_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(path_, ": closed"));
  R1_ASSIGN_OR_RETURN(std::string line, ToJsonlLine(object));
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) {
    return absl::InternalError(absl::StrCat("write ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status JsonlWriter::Flush() {
  if (file_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(path_, ": closed"));
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) {
    return absl::InternalError(absl::StrCat("flush ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status JsonlWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  absl::Status flushed = Flush();
  int rc = std::fclose(file_);
  file_ = nullptr;
  R1_RETURN_IF_ERROR(flushed);
  if (rc != 0)
    return absl::InternalError(absl::StrCat("close ", path_, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

absl::Status AppendJsonlLine(const std::string& path, const nlohmann::json& object) {
  R1_ASSIGN_OR_RETURN(std::string line, ToJsonlLine(object));
  line.push_back('\n');
  return AppendFileSynced(path, line);
}

absl::Status WriteJsonlAtomic(const std::string& path, const std::vector<nlohmann::json>& objects) {
  std::string data;
  for (size_t i = 0; i < objects.size(); ++i) {
    absl::StatusOr<std::string> line = ToJsonlLine(objects[i]);
    if (!line.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("writing ", path, ": record ", i, ": ", line.status().message()));
    }
    data += *line;
    data.push_back('\n');
  }
  return WriteFileAtomic(path, data);
}

}  // namespace r1
