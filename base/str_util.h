// Small string formatters shared by messages and written files.
#ifndef R1_BASE_STR_UTIL_H_
#define R1_BASE_STR_UTIL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace r1 {

// `s` C-escaped between double quotes, for naming a user's value in a message: "a\"b\n".
std::string Quoted(absl::string_view s);

// The %g form of `v` with the fewest significant digits (1 to 17) that reads back as exactly
// `v` ("0.1", "1e-05", "2"); nan and inf as %g writes them.
std::string RoundTripDouble(double v);

}  // namespace r1

#endif  // R1_BASE_STR_UTIL_H_
