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
#include <nlohmann/json.hpp>
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
  R1_ASSIGN_OR_RETURN(
      SafetensorsHeader header,
      ParseSafetensorsHeader(absl::string_view(reinterpret_cast<const char*>(bytes), file_size),
                             path));

  SafetensorsFile file;
  file.path_ = path;
  file.metadata_ = std::move(header.metadata);
  for (auto& [name, entry] : header.tensors) {
    SafetensorsTensorInfo info;
    info.name = name;
    R1_ASSIGN_OR_RETURN(info.dtype, SafetensorsDtypeFromName(entry.dtype));
    info.shape = std::move(entry.shape);
    info.begin = entry.begin;
    info.end = entry.end;
    file.infos_.emplace(name, std::move(info));
  }
  file.data_ = bytes + header.data_offset;
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
