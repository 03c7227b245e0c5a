// Dtype names: one spelling per dtype, both ways.
#include "base/dtype_names.h"

#include "gtest/gtest.h"

namespace r1 {
namespace {

TEST(DtypeNamesTest, NamesRoundTrip) {
  for (const auto& [dtype, name] : kDtypeNames) {
    EXPECT_EQ(DtypeName(dtype), name);
    ASSERT_TRUE(DtypeByName(name).has_value()) << name;
    EXPECT_EQ(*DtypeByName(name), dtype) << name;
  }
  EXPECT_EQ(DtypeName(Dtype::kBFloat16), "bfloat16");
  EXPECT_EQ(*DtypeByName("float16"), Dtype::kFloat16);
}

TEST(DtypeNamesTest, UnknownNames) {
  EXPECT_FALSE(DtypeByName("").has_value());
  EXPECT_FALSE(DtypeByName("fp32").has_value());
  EXPECT_FALSE(DtypeByName("Float32").has_value());  // case-sensitive
  EXPECT_FALSE(DtypeByName("int8").has_value());
}

}  // namespace
}  // namespace r1
