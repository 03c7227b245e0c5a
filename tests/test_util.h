// Helpers shared by the test suites. Header-only, no LibTorch.
#ifndef R1_TESTS_TEST_UTIL_H_
#define R1_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/file_util.h"

namespace r1::testing_util {

// An empty directory `<gtest temp dir>/<name>_<pid>` for one test. Every directory made here is
// removed when the test program exits, unless R1_KEEP_TEST_DIRS is set (to look at a failure).
// Thread-safe.
inline std::string ScratchDir(const std::string& name) {
  static std::mutex mu;
  static std::vector<std::string>* dirs = [] {
    auto* made = new std::vector<std::string>();
    std::atexit([] {
      if (std::getenv("R1_KEEP_TEST_DIRS") != nullptr) return;
      std::lock_guard<std::mutex> lock(mu);
      for (const std::string& d : *dirs) RemoveAll(d).IgnoreError();
    });
    return made;
  }();
  const std::string dir = absl::StrCat(::testing::TempDir(), "/", name, "_", ::getpid());
  EXPECT_TRUE(RemoveAll(dir).ok());
  EXPECT_TRUE(MakeDirs(dir).ok());
  std::lock_guard<std::mutex> lock(mu);
  dirs->push_back(dir);
  return dir;
}

// A fixture with an empty directory of its own, dir_ (ScratchDir named after the test suite), and
// Write, which puts a file there.
class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ScratchDir(::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name());
  }

  // Writes `data` to dir_/name; returns the path.
  std::string Write(const std::string& name, const std::string& data) {
    const std::string path = JoinPath(dir_, name);
    EXPECT_TRUE(WriteFileAtomic(path, data).ok());
    return path;
  }

  std::string dir_;
};

// The non-empty lines of `text` (JSON lines: r1's stdout, a metrics.jsonl) parsed one by one; a
// line that is not JSON gives a discarded value (is_discarded()), whose fields cannot be read.
inline std::vector<nlohmann::json> JsonLines(absl::string_view text) {
  std::vector<nlohmann::json> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return lines;
}

}  // namespace r1::testing_util

#endif  // R1_TESTS_TEST_UTIL_H_
