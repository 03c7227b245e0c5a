// Straight-line absl::Status flow: R1_RETURN_IF_ERROR and R1_ASSIGN_OR_RETURN.
#ifndef R1_BASE_STATUS_MACROS_H_
#define R1_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define R1_STATUS_CONCAT_INNER_(a, b) a##b
#define R1_STATUS_CONCAT_(a, b) R1_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if not OK.
#define R1_RETURN_IF_ERROR(expr)                   \
  do {                                             \
    ::absl::Status r1_status_ = (expr);            \
    if (!r1_status_.ok()) return r1_status_;       \
  } while (0)

// `lhs` = value of `rexpr` (an absl::StatusOr<T>), or returns its status from the function.
#define R1_ASSIGN_OR_RETURN(lhs, rexpr) \
  R1_ASSIGN_OR_RETURN_IMPL_(R1_STATUS_CONCAT_(r1_statusor_, __LINE__), lhs, rexpr)
#define R1_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#endif  // R1_BASE_STATUS_MACROS_H_
