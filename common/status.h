#pragma once
// Status helpers. Abseil 20220623 has absl::Status/StatusOr but no propagation macros, so these are
// ours. Errors on the data path are values, never exceptions (see DESIGN.md, Errors).

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EDGE_CONCAT_INNER(a, b) a##b
#define EDGE_CONCAT(a, b) EDGE_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): evaluate an absl::Status expression and return it from the caller if not
// ok.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status edge_status_ = (expr);        \
    if (!edge_status_.ok()) return edge_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): unwrap an absl::StatusOr<T> into lhs, or return its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  EDGE_ASSIGN_OR_RETURN_IMPL(EDGE_CONCAT(edge_statusor_, __LINE__), lhs, expr)
#define EDGE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()
