// The one helper macro for absl::Status, which Abseil 20220623 lacks.
#ifndef LRSCHED_SERVICE_COMMON_STATUS_MACROS_H_
#define LRSCHED_SERVICE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"

// Evaluates `expr` (an absl::Status) and returns it from the calling function
// unless it is OK.
#define LRSCHED_RETURN_IF_ERROR(expr)                          \
  do {                                                         \
    if (::absl::Status lrsched_status_ = (expr); !lrsched_status_.ok()) { \
      return lrsched_status_;                                  \
    }                                                          \
  } while (false)

#endif  // LRSCHED_SERVICE_COMMON_STATUS_MACROS_H_
