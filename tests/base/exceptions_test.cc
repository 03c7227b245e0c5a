// base/exceptions: CatchExceptions turns a std::exception into Internal("<what>: <message>") and
// passes values and statuses through.
#include "base/exceptions.h"

#include <stdexcept>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

TEST(CatchExceptionsTest, ExceptionBecomesInternalWithWhatAndMessage) {
  absl::Status s =
      CatchExceptions("load model", []() -> absl::Status { throw std::runtime_error("bad file"); });
  EXPECT_EQ(s, absl::InternalError("load model: bad file"));
}

TEST(CatchExceptionsTest, ResultsPassThrough) {
  absl::StatusOr<int> v = CatchExceptions("x", []() -> absl::StatusOr<int> { return 7; });
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  absl::Status s =
      CatchExceptions("x", []() -> absl::Status { return absl::NotFoundError("gone"); });
  EXPECT_EQ(s, absl::NotFoundError("gone"));
}

TEST(CatchExceptionsTest, MessageFunctionChoosesTheText) {
  absl::StatusOr<std::string> v = CatchExceptions(
      "step", []() -> absl::StatusOr<std::string> { throw std::out_of_range("index 9"); },
      [](const std::exception& e) { return std::string("short ") + e.what(); });
  EXPECT_EQ(v.status(), absl::InternalError("step: short index 9"));
}

}  // namespace
}  // namespace r1
