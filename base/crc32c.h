// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord files and
// TensorBoard event files, and its "masked" form that TFRecord stores.
#ifndef R1_BASE_CRC32C_H_
#define R1_BASE_CRC32C_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace r1 {

// CRC-32C of `data` (table driven, one byte at a time). Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(absl::string_view data);

// Continues a CRC-32C: Crc32cExtend(Crc32c(a), b) == Crc32c(a + b). Crc32cExtend(0, b) ==
// Crc32c(b).
uint32_t Crc32cExtend(uint32_t crc, absl::string_view data);

// TFRecord's mask, applied to a CRC stored next to the data it covers (a CRC of bytes that contain
// CRCs is weak): ((crc >> 15) | (crc << 17)) + 0xa282ead8. UnmaskCrc32c is its inverse.
uint32_t MaskCrc32c(uint32_t crc);
uint32_t UnmaskCrc32c(uint32_t masked);

}  // namespace r1

#endif  // R1_BASE_CRC32C_H_
