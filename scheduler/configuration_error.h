// Errors of a run's configuration that neither a relaunch nor a retry can fix — a worker cannot
// use the configured device, say. Cluster::Acquire returns them at once, and RunPipeline ends the
// run with them unchanged at the first attempt: the message is what the user reads.
#ifndef R1_SCHEDULER_CONFIGURATION_ERROR_H_
#define R1_SCHEDULER_CONFIGURATION_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace r1 {

inline constexpr absl::string_view kConfigurationErrorPayload = "r1/configuration-error";

// FailedPrecondition with `message`, marked as a configuration error.
inline absl::Status ConfigurationError(absl::string_view message) {
  absl::Status status = absl::FailedPreconditionError(message);
  status.SetPayload(kConfigurationErrorPayload, absl::Cord("1"));
  return status;
}

inline bool IsConfigurationError(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kConfigurationErrorPayload).has_value();
}

}  // namespace r1

#endif  // R1_SCHEDULER_CONFIGURATION_ERROR_H_
