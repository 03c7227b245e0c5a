// The run's secret token: generated once per run, stored in the run directory with mode 0600,
// sent by every client in the "r1-token" gRPC metadata (see proto/r1/v1/scheduler.proto).
#ifndef R1_SCHEDULER_RUN_TOKEN_H_
#define R1_SCHEDULER_RUN_TOKEN_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace r1 {

// The environment variable external workers and tools read the token from.
inline constexpr char kRunTokenEnvVar[] = "R1_TOKEN";

// 32 random bytes (from /dev/urandom, else std::random_device) as 64 lowercase hex characters.
std::string GenerateRunToken();

// Writes `token` to `path` with mode 0600 atomically (a temp file created 0600, then renamed), so
// the secret is never readable by others, not even for a moment. Errors name the path.
absl::Status WriteRunTokenFile(const std::string& path, const std::string& token);

// The token from `token_file` when `token_file` is non-empty (trailing whitespace stripped; a
// missing file or one that holds only whitespace is an error naming the file); else from the
// environment variable R1_TOKEN. NotFound, saying both ways to give it, when neither is set.
absl::StatusOr<std::string> ReadRunToken(const std::string& token_file);

// The address ("HOST:PORT") of the scheduler serving RUN_DIR, from RUN_DIR/scheduler.addr (which
// the scheduler writes when it starts). NotFound naming the file when it is missing or empty.
absl::StatusOr<std::string> ReadSchedulerAddress(const std::string& run_dir);

}  // namespace r1

#endif  // R1_SCHEDULER_RUN_TOKEN_H_
