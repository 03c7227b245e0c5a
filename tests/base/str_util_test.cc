// base/str_util: Quoted for naming values in messages, RoundTripDouble for numbers that read
// back exactly (config messages, the DAG description, the resolved YAML).
#include "base/str_util.h"

#include <cstdlib>
#include <limits>

#include "gtest/gtest.h"

namespace r1 {
namespace {

TEST(QuotedTest, EscapesLikeCAndAddsQuotes) {
  EXPECT_EQ(Quoted("abc"), "\"abc\"");
  EXPECT_EQ(Quoted("a\"b\n"), "\"a\\\"b\\n\"");
  EXPECT_EQ(Quoted(""), "\"\"");
}

TEST(RoundTripDoubleTest, FewestDigitsThatReadBack) {
  EXPECT_EQ(RoundTripDouble(0.1), "0.1");
  EXPECT_EQ(RoundTripDouble(2), "2");
  EXPECT_EQ(RoundTripDouble(1e-5), "1e-05");
  EXPECT_EQ(RoundTripDouble(-0.3), "-0.3");
  EXPECT_EQ(RoundTripDouble(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(RoundTripDouble(std::numeric_limits<double>::infinity()), "inf");
  for (double v : {1.0 / 3, 2e-5, 123456.789, 6.02214076e23}) {
    EXPECT_EQ(std::strtod(RoundTripDouble(v).c_str(), nullptr), v);
  }
}

}  // namespace
}  // namespace r1
