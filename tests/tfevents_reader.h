// An independent reader of TensorBoard event files for the tests: its own bitwise CRC-32C, its
// own decoding of the protobuf wire format (varints, fixed64, fixed32, length-delimited fields),
// written from the TFRecord and protobuf specifications, sharing no code with the writer
// (pipeline/tensorboard.cc) nor the generated classes. Strict: any damage is an error. Header-only.
#ifndef R1_TESTS_TFEVENTS_READER_H_
#define R1_TESTS_TFEVENTS_READER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "base/file_util.h"

namespace r1::testing_util {

// One decoded tensorboard.Event.
struct DecodedEvent {
  int64_t offset = 0;  // byte offset of its record in the file
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;                           // field 3; empty when absent
  bool has_summary = false;                           // field 5 present
  std::vector<std::pair<std::string, float>> values;  // Summary.Value (tag, simple_value)
};

// CRC-32C one bit at a time: reflected Castagnoli polynomial 0x82F63B78, init and final xor ~0.
inline uint32_t BitwiseCrc32c(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFu;
}

inline uint32_t TfRecordMask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

inline uint64_t LittleEndianAt(const std::string& s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(s[pos + i])} << (8 * i);
  return v;
}

// Protobuf wire format cursor over one message.
class WireCursor {
 public:
  explicit WireCursor(std::string bytes) : bytes_(std::move(bytes)) {}
  bool Done() const { return pos_ >= bytes_.size(); }

  bool Varint(uint64_t* out) {
    *out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) return false;
      const unsigned char b = static_cast<unsigned char>(bytes_[pos_++]);
      *out |= uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80u) == 0) return true;
    }
    return false;
  }
  bool Fixed(int bytes, uint64_t* out) {
    if (bytes_.size() - pos_ < static_cast<size_t>(bytes)) return false;
    *out = LittleEndianAt(bytes_, pos_, bytes);
    pos_ += static_cast<size_t>(bytes);
    return true;
  }
  bool Delimited(std::string* out) {
    uint64_t n = 0;
    if (!Varint(&n) || n > bytes_.size() - pos_) return false;
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // Reads a field key; `field` and `wire_type` from it.
  bool Key(uint64_t* field, int* wire_type) {
    uint64_t key = 0;
    if (!Varint(&key)) return false;
    *field = key >> 3;
    *wire_type = static_cast<int>(key & 7u);
    return true;
  }
  // Skips a field of `wire_type` (0, 1, 2, 5); false for any other.
  bool Skip(int wire_type) {
    uint64_t ignored = 0;
    std::string ignored_bytes;
    switch (wire_type) {
      case 0:
        return Varint(&ignored);
      case 1:
        return Fixed(8, &ignored);
      case 2:
        return Delimited(&ignored_bytes);
      case 5:
        return Fixed(4, &ignored);
      default:
        return false;
    }
  }

 private:
  std::string bytes_;
  size_t pos_ = 0;
};

inline bool DecodeSummaryValue(const std::string& bytes, std::pair<std::string, float>* out) {
  WireCursor c(bytes);
  while (!c.Done()) {
    uint64_t field = 0;
    int type = 0;
    if (!c.Key(&field, &type)) return false;
    if (field == 1 && type == 2) {
      if (!c.Delimited(&out->first)) return false;
    } else if (field == 2 && type == 5) {
      uint64_t bits = 0;
      if (!c.Fixed(4, &bits)) return false;
      const uint32_t bits32 = static_cast<uint32_t>(bits);
      std::memcpy(&out->second, &bits32, sizeof(float));
    } else if (!c.Skip(type)) {
      return false;
    }
  }
  return true;
}

inline bool DecodeEvent(const std::string& bytes, DecodedEvent* event) {
  WireCursor c(bytes);
  while (!c.Done()) {
    uint64_t field = 0;
    int type = 0;
    if (!c.Key(&field, &type)) return false;
    if (field == 1 && type == 1) {
      uint64_t bits = 0;
      if (!c.Fixed(8, &bits)) return false;
      std::memcpy(&event->wall_time, &bits, sizeof(double));
    } else if (field == 2 && type == 0) {
      uint64_t v = 0;
      if (!c.Varint(&v)) return false;
      event->step = static_cast<int64_t>(v);
    } else if (field == 3 && type == 2) {
      if (!c.Delimited(&event->file_version)) return false;
    } else if (field == 5 && type == 2) {
      std::string summary;
      if (!c.Delimited(&summary)) return false;
      event->has_summary = true;
      WireCursor s(summary);
      while (!s.Done()) {
        uint64_t sfield = 0;
        int stype = 0;
        if (!s.Key(&sfield, &stype)) return false;
        if (sfield == 1 && stype == 2) {
          std::string value_bytes;
          std::pair<std::string, float> value;
          if (!s.Delimited(&value_bytes) || !DecodeSummaryValue(value_bytes, &value)) return false;
          event->values.push_back(value);
        } else if (!s.Skip(stype)) {
          return false;
        }
      }
    } else if (!c.Skip(type)) {
      return false;
    }
  }
  return true;
}

// Every event of an event file's bytes, checking both CRCs of every record. On any damage
// (short header, length past the end, a CRC mismatch, an undecodable Event) returns false with
// `error` naming the byte offset.
inline bool DecodeEventFile(const std::string& bytes, std::vector<DecodedEvent>* events,
                            std::string* error) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const std::string at = " at byte offset " + std::to_string(pos);
    if (bytes.size() - pos < 12) {
      *error = "short record header" + at;
      return false;
    }
    const uint64_t length = LittleEndianAt(bytes, pos, 8);
    if (TfRecordMask(BitwiseCrc32c(bytes.substr(pos, 8))) != LittleEndianAt(bytes, pos + 8, 4)) {
      *error = "length CRC mismatch" + at;
      return false;
    }
    if (length > bytes.size() - pos - 12 || bytes.size() - pos - 12 - length < 4) {
      *error = "record runs past the end" + at;
      return false;
    }
    const std::string data = bytes.substr(pos + 12, length);
    if (TfRecordMask(BitwiseCrc32c(data)) != LittleEndianAt(bytes, pos + 12 + length, 4)) {
      *error = "data CRC mismatch" + at;
      return false;
    }
    DecodedEvent event;
    event.offset = static_cast<int64_t>(pos);
    if (!DecodeEvent(data, &event)) {
      *error = "not an Event" + at;
      return false;
    }
    events->push_back(std::move(event));
    pos += 12 + length + 4;
  }
  return true;
}

// The events of `dir`'s only file, which must be named events.out.tfevents.*; false with `error`
// when the directory holds anything else or the file is damaged. `path` gets the file's path.
inline bool ReadOnlyEventFileIn(const std::string& dir, std::vector<DecodedEvent>* events,
                                std::string* error, std::string* path = nullptr) {
  auto names = ListDir(dir);
  if (!names.ok()) {
    *error = std::string(names.status().message());
    return false;
  }
  if (names->size() != 1 || names->front().rfind("events.out.tfevents.", 0) != 0) {
    *error = dir + ": expected exactly one events.out.tfevents.* file, found " +
             std::to_string(names->size()) + " entries";
    return false;
  }
  const std::string file = JoinPath(dir, names->front());
  if (path != nullptr) *path = file;
  auto bytes = ReadFile(file);
  if (!bytes.ok()) {
    *error = std::string(bytes.status().message());
    return false;
  }
  if (!DecodeEventFile(*bytes, events, error)) {
    *error = file + ": " + *error;
    return false;
  }
  return true;
}

// The steps of the summary events, in file order (the file_version header has none).
inline std::vector<int64_t> SummarySteps(const std::vector<DecodedEvent>& events) {
  std::vector<int64_t> steps;
  for (const DecodedEvent& e : events) {
    if (e.has_summary) steps.push_back(e.step);
  }
  return steps;
}

}  // namespace r1::testing_util

#endif  // R1_TESTS_TFEVENTS_READER_H_
