// base/file_util: the POSIX directory helpers (MakeDirs, ListDir, RemoveAll) and the path string
// operations (NormalizePath, AbsolutePath).
#include "base/file_util.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace r1 {
namespace {

TEST(FileUtilTest, NormalizePathIsAStringOperation) {
  EXPECT_EQ(NormalizePath("a/./b/../c//d"), "a/c/d");
  EXPECT_EQ(NormalizePath("/x/../../y/"), "/y");
  EXPECT_EQ(NormalizePath("../a/b/.."), "../a");
  EXPECT_EQ(NormalizePath("a/.."), ".");
  EXPECT_EQ(NormalizePath(""), ".");
  EXPECT_EQ(NormalizePath("/"), "/");
}

TEST(FileUtilTest, AbsolutePathJoinsTheWorkingDirectory) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(AbsolutePath("x/../y"), NormalizePath(std::string(cwd) + "/y"));
  EXPECT_EQ(AbsolutePath("/a/./b"), "/a/b");
}

TEST(FileUtilTest, MakeListAndRemoveTrees) {
  const std::string root = ::testing::TempDir() + "/file_util_" + std::to_string(::getpid());
  ASSERT_TRUE(RemoveAll(root).ok());
  ASSERT_TRUE(MakeDirs(root + "/b/c/d").ok());
  ASSERT_TRUE(MakeDirs(root + "/b/c/d").ok());  // exists: fine
  ASSERT_TRUE(WriteFileAtomic(root + "/a.txt", "x").ok());
  ASSERT_TRUE(WriteFileAtomic(root + "/b/c/f", "y").ok());
  // A symlink to a directory outside the tree: removed, its target untouched.
  const std::string outside = root + "-outside";
  ASSERT_TRUE(MakeDirs(outside).ok());
  ASSERT_TRUE(WriteFileAtomic(outside + "/keep", "z").ok());
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/link").c_str()), 0);
  auto names = ListDir(root);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::vector<std::string>{"a.txt", "b", "link"}));
  EXPECT_EQ(ListDir(root + "/missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(MakeDirs(root + "/a.txt/sub").ok());  // a file in the way
  ASSERT_TRUE(RemoveAll(root).ok());
  EXPECT_FALSE(PathExists(root));
  EXPECT_TRUE(PathExists(outside + "/keep"));
  EXPECT_TRUE(RemoveAll(root).ok());  // already gone: fine
  ASSERT_TRUE(RemoveAll(outside).ok());
}

}  // namespace
}  // namespace r1
