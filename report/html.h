// Small HTML text helpers for the run report: escaping and number/duration formatting.
#ifndef R1_REPORT_HTML_H_
#define R1_REPORT_HTML_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace r1 {

// `text` with & < > " ' replaced by entities: safe as element content and as a quoted attribute
// value. Bytes are otherwise passed through (the page is UTF-8).
std::string EscapeHtml(absl::string_view text);

// At most `max_bytes` bytes of UTF-8 `text`, cut at a character boundary, with
// " … (N more bytes)" appended when something was cut. `max_bytes` <= 0 keeps everything.
std::string TruncateUtf8(absl::string_view text, int64_t max_bytes);

// A number for a table cell or tick label: "%.4g" (e.g. "0.125", "1e-05", "1234"), whole numbers
// from 1e4 to 1e9 ("17214"); "NaN"/"inf" for non-finite values.
std::string FormatNumber(double value);

// A wall-clock duration: "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". Negative: "-".
std::string FormatDurationMs(int64_t ms);

}  // namespace r1

#endif  // R1_REPORT_HTML_H_
