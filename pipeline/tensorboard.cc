// TensorBoard event files: TFRecord framing, the writer, the reader and resume truncation (see
// tensorboard.h).
#include "pipeline/tensorboard.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "tensorboard/event.pb.h"

namespace r1 {
namespace {

constexpr char kEventFilePrefix[] = "events.out.tfevents.";
constexpr char kTempMarker[] = ".tmp-";  // WriteFileAtomic's temporary names: PATH.tmp-PID-N
constexpr char kFileVersion[] = "brain.Event:2";
constexpr size_t kHeaderBytes = 12;  // uint64 length + uint32 masked CRC of it
constexpr size_t kFooterBytes = 4;   // uint32 masked CRC of the data

void PutLittleEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

uint64_t GetLittleEndian(absl::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return v;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string name(buf);
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

std::string SerializedEvent(const tensorboard::Event& event) {
  std::string bytes;
  event.SerializeToString(&bytes);
  return bytes;
}

std::string FileVersionRecord() {
  tensorboard::Event event;
  event.set_wall_time(WallSeconds());
  event.set_step(0);
  event.set_file_version(kFileVersion);
  return FrameTfRecord(SerializedEvent(event));
}

std::string Concatenated(const std::vector<std::string>& records) {
  std::string out;
  for (const std::string& r : records) out += FrameTfRecord(r);
  return out;
}

}  // namespace

bool IsEventFileName(absl::string_view name) {
  return absl::StartsWith(name, kEventFilePrefix) && !absl::StrContains(name, kTempMarker);
}

absl::StatusOr<std::vector<std::string>> ListEventFiles(const std::string& dir) {
  std::vector<std::string> paths;
  if (!IsDirectory(dir)) return paths;
  R1_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  for (const std::string& name : names) {
    if (IsEventFileName(name)) paths.push_back(JoinPath(dir, name));
  }
  return paths;  // ListDir sorts
}

std::string FrameTfRecord(absl::string_view data) {
  std::string out;
  out.reserve(kHeaderBytes + data.size() + kFooterBytes);
  PutLittleEndian(data.size(), 8, &out);
  PutLittleEndian(MaskCrc32c(Crc32c(out)), 4, &out);
  out.append(data.data(), data.size());
  PutLittleEndian(MaskCrc32c(Crc32c(data)), 4, &out);
  return out;
}

absl::StatusOr<TfRecordFile> ReadTfRecordFile(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  const absl::string_view text(bytes);
  TfRecordFile file;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t remaining = text.size() - pos;
    // A crash can leave a file extended with zeros past its last complete write.
    const bool rest_is_zero = std::all_of(text.begin() + static_cast<long>(pos), text.end(),
                                          [](char c) { return c == '\0'; });
    if (remaining < kHeaderBytes || rest_is_zero) {
      file.torn_tail_bytes = static_cast<int64_t>(remaining);
      break;
    }
    const absl::string_view length_bytes = text.substr(pos, 8);
    if (MaskCrc32c(Crc32c(length_bytes)) != GetLittleEndian(text.substr(pos + 8, 4))) {
      return absl::DataLossError(absl::StrCat(
          path, ": damaged TFRecord at byte offset ", pos,
          " (its length fails its CRC) before the end of the file, so not an interrupted append; "
          "move the file aside to continue"));
    }
    const uint64_t length = GetLittleEndian(length_bytes);
    if (remaining < kHeaderBytes + kFooterBytes ||
        length > remaining - kHeaderBytes - kFooterBytes) {
      file.torn_tail_bytes = static_cast<int64_t>(remaining);  // runs past the end
      break;
    }
    const absl::string_view data = text.substr(pos + kHeaderBytes, length);
    const size_t end = pos + kHeaderBytes + length + kFooterBytes;
    if (MaskCrc32c(Crc32c(data)) != GetLittleEndian(text.substr(end - kFooterBytes, 4))) {
      if (end == text.size()) {  // the last record: an append that did not complete
        file.torn_tail_bytes = static_cast<int64_t>(remaining);
        break;
      }
      return absl::DataLossError(
          absl::StrCat(path, ": damaged TFRecord at byte offset ", pos,
                       " (its data fails its CRC, and ", text.size() - end,
                       " bytes follow it), so not an interrupted append; move the file "
                       "aside to continue"));
    }
    file.records.emplace_back(data);
    file.offsets.push_back(static_cast<int64_t>(pos));
    pos = end;
  }
  return file;
}

absl::StatusOr<int64_t> TruncateTensorBoardAfterStep(const std::string& dir, int64_t step) {
  if (!IsDirectory(dir)) return 0;
  R1_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  for (const std::string& name : names) {
    if (absl::StartsWith(name, kEventFilePrefix) && absl::StrContains(name, kTempMarker)) {
      R1_RETURN_IF_ERROR(RemoveAll(JoinPath(dir, name)));  // a rewrite that never got renamed
    }
  }
  R1_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListEventFiles(dir));
  int64_t dropped = 0;
  for (const std::string& path : paths) {
    R1_ASSIGN_OR_RETURN(TfRecordFile file, ReadTfRecordFile(path));
    std::vector<std::string> kept;
    for (size_t i = 0; i < file.records.size(); ++i) {
      tensorboard::Event event;
      if (!event.ParseFromString(file.records[i])) {
        return absl::DataLossError(absl::StrCat(path, ": the record at byte offset ",
                                                file.offsets[i], " is not a tensorboard.Event"));
      }
      if (event.step() > step) {
        ++dropped;
      } else {
        kept.push_back(std::move(file.records[i]));
      }
    }
    if (kept.size() != file.records.size() || file.torn_tail_bytes > 0) {
      R1_RETURN_IF_ERROR(WriteFileAtomic(path, Concatenated(kept)));
    }
  }
  return dropped;
}

std::string TensorBoardWriter::path() const {
  std::lock_guard<std::mutex> lock(mu_);
  return path_;
}

absl::Status TensorBoardWriter::OpenLocked() {
  R1_RETURN_IF_ERROR(MakeDirs(dir_));
  R1_ASSIGN_OR_RETURN(std::vector<std::string> existing, ListEventFiles(dir_));
  if (existing.empty()) {
    const std::string path = JoinPath(
        dir_,
        absl::StrCat(kEventFilePrefix, static_cast<int64_t>(std::time(nullptr)), ".", HostName()));
    R1_RETURN_IF_ERROR(AppendFileSynced(path, FileVersionRecord()));
    path_ = path;
    return absl::OkStatus();
  }
  const std::string& path = existing.back();
  R1_ASSIGN_OR_RETURN(TfRecordFile file, ReadTfRecordFile(path));
  if (file.records.empty()) {  // nothing whole in it, not even the file_version event
    R1_RETURN_IF_ERROR(WriteFileAtomic(path, FileVersionRecord()));
  } else if (file.torn_tail_bytes > 0) {
    R1_RETURN_IF_ERROR(WriteFileAtomic(path, Concatenated(file.records)));
  }
  path_ = path;
  return absl::OkStatus();
}

absl::Status TensorBoardWriter::Write(int64_t step, const std::map<std::string, double>& values) {
  tensorboard::Event event;
  event.set_wall_time(WallSeconds());
  event.set_step(step);
  tensorboard::Summary* summary = event.mutable_summary();
  for (const auto& [tag, value] : values) {
    tensorboard::Summary::Value* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  const std::string record = FrameTfRecord(SerializedEvent(event));
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) R1_RETURN_IF_ERROR(OpenLocked());
  return AppendFileSynced(path_, record);
}

}  // namespace r1
