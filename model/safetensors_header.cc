// Safetensors header parsing and validation, LibTorch-free (see safetensors_header.h).
#include "model/safetensors_header.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

struct DtypeSize {
  const char* name;
  int size;
};
constexpr DtypeSize kDtypeSizes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
    {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1},
};

absl::Status Invalid(const std::string& path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("safetensors file ", path, ": ", problem));
}

absl::Status Truncated(const std::string& path, absl::string_view problem) {
  return absl::DataLossError(
      absl::StrCat("safetensors file ", path, " is truncated or corrupt: ", problem));
}

// Parses one tensor entry `value` named `name` into `entry`; `data_size` is the byte size of the
// data section.
absl::Status ParseEntry(const std::string& path, const std::string& name,
                        const nlohmann::json& value, uint64_t data_size,
                        SafetensorsHeaderEntry* entry) {
  const std::string where = absl::StrCat("tensor \"", name, "\"");
  if (!value.is_object()) return Invalid(path, absl::StrCat(where, " is not a JSON object"));
  entry->name = name;

  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    return Invalid(path, absl::StrCat(where, " has no string \"dtype\""));
  }
  entry->dtype = dtype_it->get<std::string>();
  const int itemsize = SafetensorsDtypeSize(entry->dtype);
  if (itemsize == 0) {
    return Invalid(path, absl::StrCat(where, " has unknown dtype \"", entry->dtype, "\""));
  }

  auto shape_it = value.find("shape");
  if (shape_it == value.end() || !shape_it->is_array()) {
    return Invalid(path, absl::StrCat(where, " has no \"shape\" array"));
  }
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Invalid(path, absl::StrCat(where, " has a bad shape ", shape_it->dump(),
                                        " (dims must be non-negative integers)"));
    }
    uint64_t d = dim.get<uint64_t>();
    entry->shape.push_back(static_cast<int64_t>(d));
    overflow = overflow || __builtin_mul_overflow(numel, d, &numel);
  }

  auto off_it = value.find("data_offsets");
  if (off_it == value.end() || !off_it->is_array() || off_it->size() != 2 ||
      !(*off_it)[0].is_number_unsigned() || !(*off_it)[1].is_number_unsigned()) {
    return Invalid(path, absl::StrCat(where,
                                      " needs \"data_offsets\": [begin, end] of two "
                                      "non-negative integers"));
  }
  entry->begin = (*off_it)[0].get<uint64_t>();
  entry->end = (*off_it)[1].get<uint64_t>();
  if (entry->begin > entry->end) {
    return Invalid(path, absl::StrCat(where, " has data_offsets [", entry->begin, ", ", entry->end,
                                      "] with begin > end"));
  }
  uint64_t nbytes = 0;
  if (overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(itemsize), &nbytes) ||
      nbytes != entry->end - entry->begin) {
    return Invalid(path, absl::StrCat(where, " has shape ", shape_it->dump(), " of dtype ",
                                      entry->dtype, " but data_offsets [", entry->begin, ", ",
                                      entry->end, "] span ", entry->end - entry->begin, " bytes"));
  }
  if (entry->end > data_size) {
    return Truncated(path, absl::StrCat(where, " ends at data byte ", entry->end,
                                        " but the data section has only ", data_size, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

int SafetensorsDtypeSize(absl::string_view dtype) {
  for (const DtypeSize& d : kDtypeSizes) {
    if (dtype == d.name) return d.size;
  }
  return 0;
}

absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(absl::string_view file,
                                                         const std::string& path) {
  const uint64_t file_size = file.size();
  if (file_size < 8) {
    return Truncated(path, absl::StrCat("the file has ", file_size,
                                        " bytes, fewer than the 8-byte header length"));
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(file.data());
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > file_size - 8) {
    return Truncated(path, absl::StrCat("header length ", header_len, " is larger than the ",
                                        file_size - 8, " bytes after the length prefix"));
  }
  if (header_len > kMaxSafetensorsHeaderBytes) {
    return Invalid(path, absl::StrCat("header length ", header_len, " exceeds the limit of ",
                                      kMaxSafetensorsHeaderBytes, " bytes"));
  }
  const char* header_begin = file.data() + 8;
  if (header_len == 0 || header_begin[0] != '{') {
    return Invalid(path, "header does not start with a JSON object '{'");
  }

  // Duplicate top-level keys would silently drop a tensor: detect them while parsing.
  std::set<std::string> seen_keys;
  std::string duplicate_key;
  nlohmann::json::parser_callback_t on_event = [&](int depth, nlohmann::json::parse_event_t event,
                                                   nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!seen_keys.insert(parsed.get<std::string>()).second && duplicate_key.empty()) {
        duplicate_key = parsed.get<std::string>();
      }
    }
    return true;
  };
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header_begin, header_begin + header_len, on_event);
  } catch (const nlohmann::json::exception& e) {
    return Invalid(path, absl::StrCat("header is not valid JSON: ", e.what()));
  }
  if (!json.is_object()) return Invalid(path, "header is not a JSON object");
  if (!duplicate_key.empty()) {
    return Invalid(path, absl::StrCat("header has key \"", duplicate_key, "\" twice"));
  }

  SafetensorsHeader header;
  header.data_offset = 8 + header_len;
  header.data_size = file_size - 8 - header_len;
  for (const auto& [key, value] : json.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return Invalid(path, "\"__metadata__\" is not a JSON object");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) {
          return Invalid(path, absl::StrCat("\"__metadata__\" value of \"", mkey,
                                            "\" is not a string: ", mvalue.dump()));
        }
        header.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    SafetensorsHeaderEntry entry;
    R1_RETURN_IF_ERROR(ParseEntry(path, key, value, header.data_size, &entry));
    header.tensors.emplace(key, std::move(entry));
  }

  // No two tensors may share bytes (empty tensors occupy none).
  std::vector<const SafetensorsHeaderEntry*> by_offset;
  for (const auto& [name, entry] : header.tensors) {
    if (entry.end > entry.begin) by_offset.push_back(&entry);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SafetensorsHeaderEntry* a, const SafetensorsHeaderEntry* b) {
              return a->begin < b->begin;
            });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const SafetensorsHeaderEntry& prev = *by_offset[i - 1];
    const SafetensorsHeaderEntry& cur = *by_offset[i];
    if (cur.begin < prev.end) {
      return Invalid(
          path, absl::StrCat("tensors \"", prev.name, "\" [", prev.begin, ", ", prev.end,
                             ") and \"", cur.name, "\" [", cur.begin, ", ", cur.end, ") overlap"));
    }
  }
  return header;
}

}  // namespace r1
