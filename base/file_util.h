// File helpers with the crash-safety contract of DESIGN.md: writes go to a temporary name in the
// same directory, are fsync'd, then renamed into place, so a reader never sees half a file.
#ifndef R1_BASE_FILE_UTIL_H_
#define R1_BASE_FILE_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

// Whole file as bytes. NotFound if missing; the error names the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` atomically (temp file + fsync + rename + fsync of the directory).
// `mode` is applied to the new file (e.g. 0600 for secrets).
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, int mode = 0644);

// Appends `data` to `path` (created if missing) and fsyncs it. For append-only logs.
absl::Status AppendFileSynced(const std::string& path, absl::string_view data);

// Creates `path` and missing parents. OK if it exists as a directory.
absl::Status MakeDirs(const std::string& path);

// Renames directory `from` to `to` (same filesystem) after fsync of `from`'s contents; then
// fsyncs the parent. Fails with AlreadyExists if `to` exists.
absl::Status RenameDirAtomic(const std::string& from, const std::string& to);

// Removes a file or directory tree (symlinks are removed, not followed); OK if it does not exist.
absl::Status RemoveAll(const std::string& path);

// The names in `dir` (without "." and ".."), sorted. NotFound / Internal name the directory.
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);

// `path` with "." and "x/.." removed and slashes collapsed, as a string operation (no file system
// access): "a/./b/../c//d" -> "a/c/d"; "" -> ".". Leading ".." of a relative path stay.
std::string NormalizePath(const std::string& path);

// `path` made absolute against the current directory, normalized.
std::string AbsolutePath(const std::string& path);

// These helpers use POSIX calls, not std::filesystem: a LibTorch 2.x wheel exports its own copies
// of std::filesystem's functions, which the dynamic linker can bind r1's calls to, and they crash.

bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);

// A fresh, unique directory next to `final_path` (same filesystem) for a later RenameDirAtomic:
// "<final_path>.tmp-<pid>-<n>".
absl::StatusOr<std::string> MakeTempDirBeside(const std::string& final_path);

// Joins path components with '/'.
std::string JoinPath(absl::string_view a, absl::string_view b);

}  // namespace r1

#endif  // R1_BASE_FILE_UTIL_H_
