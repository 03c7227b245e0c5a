// Safetensors reader (mmap + full header validation) and atomic writer (see safetensors.h).
#include "model/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace r1 {

static_assert(sizeof(void*) == 8, "safetensors offsets are 64-bit");

struct SafetensorsFile::Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr != nullptr) ::munmap(addr, size);
  }
};

namespace {

// Header larger than this is refused (as Hugging Face's reader does): protects against a corrupt
// length making us parse gigabytes of tensor bytes as JSON.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeName {
  at::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {
    {at::kDouble, "F64"}, {at::kFloat, "F32"}, {at::kHalf, "F16"},  {at::kBFloat16, "BF16"},
    {at::kLong, "I64"},   {at::kInt, "I32"},   {at::kShort, "I16"}, {at::kChar, "I8"},
    {at::kByte, "U8"},    {at::kBool, "BOOL"},
};

bool IsLittleEndianHost() {
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  int err = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

absl::Status Invalid(const std::string& path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("safetensors file ", path, ": ", problem));
}

absl::Status Truncated(const std::string& path, absl::string_view problem) {
  return absl::DataLossError(
      absl::StrCat("safetensors file ", path, " is truncated or corrupt: ", problem));
}

// Parses one tensor entry `value` named `name` into `info`; `data_size` is the byte size of the
// data section.
absl::Status ParseEntry(const std::string& path, const std::string& name,
                        const nlohmann::json& value, uint64_t data_size,
                        SafetensorsTensorInfo* info) {
  const std::string where = absl::StrCat("tensor \"", name, "\"");
  if (!value.is_object()) return Invalid(path, absl::StrCat(where, " is not a JSON object"));
  info->name = name;

  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    return Invalid(path, absl::StrCat(where, " has no string \"dtype\""));
  }
  auto type = SafetensorsDtypeFromName(dtype_it->get<std::string>());
  if (!type.ok()) {
    return Invalid(
        path, absl::StrCat(where, " has unknown dtype \"", dtype_it->get<std::string>(), "\""));
  }
  info->dtype = *type;

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
    info->shape.push_back(static_cast<int64_t>(d));
    overflow = overflow || __builtin_mul_overflow(numel, d, &numel);
  }

  auto off_it = value.find("data_offsets");
  if (off_it == value.end() || !off_it->is_array() || off_it->size() != 2 ||
      !(*off_it)[0].is_number_unsigned() || !(*off_it)[1].is_number_unsigned()) {
    return Invalid(path, absl::StrCat(where,
                                      " needs \"data_offsets\": [begin, end] of two "
                                      "non-negative integers"));
  }
  info->begin = (*off_it)[0].get<uint64_t>();
  info->end = (*off_it)[1].get<uint64_t>();
  if (info->begin > info->end) {
    return Invalid(path, absl::StrCat(where, " has data_offsets [", info->begin, ", ", info->end,
                                      "] with begin > end"));
  }
  uint64_t nbytes = 0;
  const uint64_t itemsize = c10::elementSize(info->dtype);
  if (overflow || __builtin_mul_overflow(numel, itemsize, &nbytes) ||
      nbytes != info->end - info->begin) {
    return Invalid(
        path, absl::StrCat(where, " has shape ", shape_it->dump(), " of dtype ",
                           dtype_it->get<std::string>(), " but data_offsets [", info->begin, ", ",
                           info->end, "] span ", info->end - info->begin, " bytes"));
  }
  if (info->end > data_size) {
    return Truncated(path, absl::StrCat(where, " ends at data byte ", info->end,
                                        " but the data section has only ", data_size, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SafetensorsDtypeName(at::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (d.type == type) return std::string(d.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("dtype ", c10::toString(type), " cannot be stored in safetensors"));
}

absl::StatusOr<at::ScalarType> SafetensorsDtypeFromName(absl::string_view name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return d.type;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown safetensors dtype \"", name, "\""));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(infos_.size());
  for (const auto& [name, info] : infos_) out.push_back(name);
  return out;
}

absl::StatusOr<at::Tensor> SafetensorsFile::Tensor(const std::string& name) const {
  auto it = infos_.find(name);
  if (it == infos_.end()) {
    return absl::NotFoundError(
        absl::StrCat("safetensors file ", path_, " has no tensor \"", name, "\""));
  }
  const SafetensorsTensorInfo& info = it->second;
  const auto options = at::TensorOptions().dtype(info.dtype).device(at::kCPU);
  const uint8_t* ptr = data_ + info.begin;
  const size_t nbytes = info.end - info.begin;
  const size_t itemsize = c10::elementSize(info.dtype);
  if (nbytes == 0 || reinterpret_cast<uintptr_t>(ptr) % itemsize != 0) {
    at::Tensor out = at::empty(info.shape, options);
    if (nbytes > 0) std::memcpy(out.data_ptr(), ptr, nbytes);
    return out;
  }
  std::shared_ptr<const Mapping> keep = mapping_;
  return at::from_blob(
      const_cast<uint8_t*>(ptr), info.shape, [keep](void*) mutable { keep.reset(); }, options);
}

absl::StatusOr<NamedTensors> SafetensorsFile::AllTensors() const {
  NamedTensors out;
  for (const auto& [name, info] : infos_) {
    R1_ASSIGN_OR_RETURN(out[name], Tensor(name));
  }
  return out;
}

absl::StatusOr<SafetensorsFile> OpenSafetensors(const std::string& path) {
  if (!IsLittleEndianHost()) {
    return absl::UnimplementedError("safetensors reading needs a little-endian host");
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open safetensors file", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = ErrnoError("stat", path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Invalid(path, "not a regular file");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    return Truncated(path, absl::StrCat("the file has ", file_size,
                                        " bytes, fewer than the 8-byte header length"));
  }
  // Private + writable: tensors handed out may be written in place (copy-on-write, never reaching
  // the file).
  void* addr = ::mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) {
    absl::Status s = ErrnoError("mmap", path);
    ::close(fd);
    return s;
  }
  ::close(fd);  // the mapping stays valid
  auto mapping = std::make_shared<SafetensorsFile::Mapping>();
  mapping->addr = addr;
  mapping->size = file_size;
  const uint8_t* bytes = static_cast<const uint8_t*>(addr);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > file_size - 8) {
    return Truncated(path, absl::StrCat("header length ", header_len, " is larger than the ",
                                        file_size - 8, " bytes after the length prefix"));
  }
  if (header_len > kMaxHeaderBytes) {
    return Invalid(path, absl::StrCat("header length ", header_len, " exceeds the limit of ",
                                      kMaxHeaderBytes, " bytes"));
  }
  const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
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
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_begin, header_begin + header_len, on_event);
  } catch (const nlohmann::json::exception& e) {
    return Invalid(path, absl::StrCat("header is not valid JSON: ", e.what()));
  }
  if (!header.is_object()) return Invalid(path, "header is not a JSON object");
  if (!duplicate_key.empty()) {
    return Invalid(path, absl::StrCat("header has key \"", duplicate_key, "\" twice"));
  }

  SafetensorsFile file;
  file.path_ = path;
  const uint64_t data_size = file_size - 8 - header_len;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return Invalid(path, "\"__metadata__\" is not a JSON object");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) {
          return Invalid(path, absl::StrCat("\"__metadata__\" value of \"", mkey,
                                            "\" is not a string: ", mvalue.dump()));
        }
        file.metadata_[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    SafetensorsTensorInfo info;
    R1_RETURN_IF_ERROR(ParseEntry(path, key, value, data_size, &info));
    file.infos_.emplace(key, std::move(info));
  }

  // No two tensors may share bytes (empty tensors occupy none).
  std::vector<const SafetensorsTensorInfo*> by_offset;
  for (const auto& [name, info] : file.infos_) {
    if (info.end > info.begin) by_offset.push_back(&info);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SafetensorsTensorInfo* a, const SafetensorsTensorInfo* b) {
              return a->begin < b->begin;
            });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const SafetensorsTensorInfo& prev = *by_offset[i - 1];
    const SafetensorsTensorInfo& cur = *by_offset[i];
    if (cur.begin < prev.end) {
      return Invalid(
          path, absl::StrCat("tensors \"", prev.name, "\" [", prev.begin, ", ", prev.end,
                             ") and \"", cur.name, "\" [", cur.begin, ", ", cur.end, ") overlap"));
    }
  }

  file.data_ = bytes + 8 + header_len;
  file.mapping_ = std::move(mapping);
  return file;
}

absl::StatusOr<NamedTensors> LoadSafetensors(const std::string& path) {
  R1_ASSIGN_OR_RETURN(SafetensorsFile file, OpenSafetensors(path));
  return file.AllTensors();
}

namespace {

std::atomic<uint64_t> temp_counter{0};

std::string ParentDir(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

absl::Status WriteAll(int fd, const void* data, size_t size, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    // Linux writes at most ~2 GiB per call; chunk so huge tensors need no special case.
    ssize_t n = ::write(fd, p, std::min<size_t>(size, 1u << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                              const SafetensorsMetadata& metadata) {
  if (!IsLittleEndianHost()) {
    return absl::UnimplementedError("safetensors writing needs a little-endian host");
  }
  // Contiguous CPU copies (or the tensors themselves when already so), in name order.
  std::vector<at::Tensor> cpu;
  cpu.reserve(tensors.size());
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto bad = [&](absl::string_view problem) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot write tensor \"", name, "\" to ", path, ": ", problem));
    };
    if (name.empty() || name == "__metadata__") return bad("reserved or empty name");
    if (!tensor.defined()) return bad("tensor is undefined");
    if (tensor.layout() != at::kStrided) return bad("only dense (strided) tensors can be stored");
    auto dtype_name = SafetensorsDtypeName(tensor.scalar_type());
    if (!dtype_name.ok()) return bad(dtype_name.status().message());
    at::Tensor t = tensor.device().is_cpu() ? tensor : tensor.to(at::kCPU);
    t = t.contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = *dtype_name;
    entry["shape"] = t.sizes().vec();
    entry["data_offsets"] = {offset, offset + nbytes};
    header[name] = std::move(entry);
    offset += nbytes;
    cpu.push_back(std::move(t));
  }
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // a name or metadata that is not UTF-8
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write ", path, ": header is not valid UTF-8 JSON: ", e.what()));
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  uint8_t prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<uint8_t>(header_text.size() >> (8 * i));

  const std::string tmp = absl::StrCat(path, ".tmp-", ::getpid(), "-", temp_counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", tmp);
  absl::Status s = WriteAll(fd, prefix, sizeof(prefix), tmp);
  if (s.ok()) s = WriteAll(fd, header_text.data(), header_text.size(), tmp);
  for (size_t i = 0; s.ok() && i < cpu.size(); ++i) {
    const at::Tensor& t = cpu[i];
    if (t.numel() > 0) s = WriteAll(fd, t.data_ptr(), t.numel() * t.element_size(), tmp);
  }
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoError("fsync", tmp);
  if (::close(fd) != 0 && s.ok()) s = ErrnoError("close", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoError("rename to", path);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  const std::string dir = ParentDir(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ErrnoError("open directory for fsync", dir);
  int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return ErrnoError("fsync", dir);
  return absl::OkStatus();
}

}  // namespace r1
