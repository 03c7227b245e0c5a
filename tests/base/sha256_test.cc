// SHA-256 against the FIPS 180-4 / NIST example vectors, across chunk boundaries, and on files.
#include "base/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "base/file_util.h"

namespace r1 {
namespace {

TEST(Sha256Test, NistVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, StreamingInAnyChunksEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  const std::string expected = Sha256Hex(data);
  for (size_t chunk : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 127u, 999u}) {
    Sha256 hash;
    for (size_t i = 0; i < data.size(); i += chunk)
      hash.Update(absl::string_view(data).substr(i, chunk));
    EXPECT_EQ(hash.HexDigest(), expected) << "chunk " << chunk;
  }
  // Lengths around the padding boundary (55, 56 and 64 bytes) differ from each other.
  EXPECT_NE(Sha256Hex(std::string(55, 'x')), Sha256Hex(std::string(56, 'x')));
}

TEST(Sha256Test, FileHashAndSize) {
  const std::string path = ::testing::TempDir() + "/sha256_test_file";
  const std::string data(3 * 1024 * 1024 + 5, 'q');  // more than one read chunk
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  int64_t size = -1;
  auto hex = Sha256File(path, &size);
  ASSERT_TRUE(hex.ok()) << hex.status();
  EXPECT_EQ(*hex, Sha256Hex(data));
  EXPECT_EQ(size, static_cast<int64_t>(data.size()));
  auto missing = Sha256File(path + ".missing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("sha256_test_file.missing"), std::string::npos);
}

}  // namespace
}  // namespace r1
