// Where exceptions from throwing libraries (LibTorch, the standard library) become absl::Status.
#ifndef R1_BASE_EXCEPTIONS_H_
#define R1_BASE_EXCEPTIONS_H_

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace r1 {

// Runs `fn` (returning absl::Status or absl::StatusOr<T>) and turns a std::exception escaping
// it into InternalError("<what>: <message(e)>"); other throws pass through.
template <typename Fn, typename Message>
auto CatchExceptions(absl::string_view what, Fn&& fn, Message&& message) -> decltype(fn()) {
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", message(e)));
  }
}

// The same with the message e.what().
template <typename Fn>
auto CatchExceptions(absl::string_view what, Fn&& fn) -> decltype(fn()) {
  return CatchExceptions(what, std::forward<Fn>(fn),
                         [](const std::exception& e) { return e.what(); });
}

}  // namespace r1

#endif  // R1_BASE_EXCEPTIONS_H_
