// base/crc32c: the standard check value, known vectors (RFC 3720, iSCSI), chaining and the
// TFRecord mask.
#include "base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace r1 {
namespace {

TEST(Crc32cTest, StandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

// RFC 3720 appendix B.4: 32 bytes of zeros, of 0xFF, and ascending 0..31.
TEST(Crc32cTest, Rfc3720Vectors) {
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32cTest, ExtendEqualsCrcOfConcatenation) {
  EXPECT_EQ(Crc32cExtend(Crc32c("1234"), "56789"), Crc32c("123456789"));
  EXPECT_EQ(Crc32cExtend(0, "abc"), Crc32c("abc"));
}

TEST(Crc32cTest, MaskMatchesTfRecordFormulaAndUnmasks) {
  const uint32_t crc = Crc32c("123456789");
  EXPECT_EQ(MaskCrc32c(crc), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
  EXPECT_NE(MaskCrc32c(crc), crc);
  for (uint32_t v : {0u, 1u, 0xFFFFFFFFu, 0x12345678u, crc})
    EXPECT_EQ(UnmaskCrc32c(MaskCrc32c(v)), v);
}

}  // namespace
}  // namespace r1
