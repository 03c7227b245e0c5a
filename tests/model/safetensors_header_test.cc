// The LibTorch-free safetensors header parser (model/safetensors_header.h) on in-memory bytes: what
// it returns for a valid header, and the status and message for each kind of damage. (The file
// reader built on it is covered by safetensors_test.cc.)
#include "model/safetensors_header.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The 8-byte little-endian length, `json`, then `data_bytes` zero bytes.
std::string File(const std::string& json, size_t data_bytes) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((json.size() >> (8 * i)) & 0xff));
  return out + json + std::string(data_bytes, '\0');
}

TEST(SafetensorsHeaderTest, ParsesEntriesAndMetadata) {
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
      R"("s":{"dtype":"I64","shape":[],"data_offsets":[12,20]}})";
  auto header = ParseSafetensorsHeader(File(json, 20), "m.safetensors");
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->data_offset, 8 + json.size());
  EXPECT_EQ(header->data_size, 20u);
  EXPECT_EQ(header->metadata.at("format"), "pt");
  ASSERT_EQ(header->tensors.size(), 2u);
  const SafetensorsHeaderEntry& w = header->tensors.at("w");
  EXPECT_EQ(w.dtype, "BF16");
  EXPECT_THAT(w.shape, ElementsAre(2, 3));
  EXPECT_EQ(w.begin, 0u);
  EXPECT_EQ(w.end, 12u);
  EXPECT_TRUE(header->tensors.at("s").shape.empty());
  EXPECT_EQ(SafetensorsDtypeSize("F64"), 8);
  EXPECT_EQ(SafetensorsDtypeSize("Q4"), 0);
}

TEST(SafetensorsHeaderTest, DamageIsNamed) {
  auto status = [](const std::string& file) {
    return ParseSafetensorsHeader(file, "m.safetensors").status();
  };
  absl::Status s = status("abc");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(),
              HasSubstr("m.safetensors is truncated or corrupt: the file has 3 bytes"));
  // A length prefix of 2^64 - 1: refused before anything is read or allocated for it.
  s = status(std::string(8, '\xff') + "{}");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("header length 18446744073709551615 is larger than"));
  s = status(File(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("ends at data byte 16 but the data section has only 8"));
  s = status(
      File(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}})", 16));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("span 16 bytes"));
  s = status(File(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                  R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
                  3));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("overlap"));
  s = status(File(R"({"a":1,"a":2})", 0));
  EXPECT_THAT(s.message(), HasSubstr("header has key \"a\" twice"));
  s = status(File(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0));
  EXPECT_THAT(s.message(), HasSubstr("dims must be non-negative integers"));
}

}  // namespace
}  // namespace r1
