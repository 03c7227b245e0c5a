// gRPC credentials for TLS between nodes (cluster.tls, see pipeline/config.h): the one place that
// reads the PEM files and builds server and channel credentials, used by the Scheduler service,
// the Worker service, the scheduler's channels to workers, and `r1 worker/status/cancel`. With
// TLS off every function gives insecure credentials, so callers need no branch of their own.
#ifndef R1_WORKER_API_TLS_CREDENTIALS_H_
#define R1_WORKER_API_TLS_CREDENTIALS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipeline/config.h"

namespace r1 {

// The PEM contents of cluster.tls's files.
struct TlsPem {
  std::string cert, key, ca;
};

// Reads and sanity-checks cert, key and ca (each must be set and hold a PEM block of its kind).
// Errors are InvalidArgument and name the setting and the file, `key_prefix` + the field name:
// "cluster.tls.cert: cannot read /x: No such file or directory"; with key_prefix "--tls-" the
// names are flags ("--tls-ca: ..."). Never echoes file contents.
absl::StatusOr<TlsPem> ReadTlsPem(const TlsConfig& tls,
                                  absl::string_view key_prefix = "cluster.tls.");

// Server side: insecure when TLS is off; else TLS with this node's cert/key that requires and
// verifies a client certificate signed by `ca` (mutual TLS). Errors as ReadTlsPem.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsConfig& tls, absl::string_view key_prefix = "cluster.tls.");

// Client side: a channel to `address` with `args`; insecure when TLS is off, else TLS that
// trusts only `ca`, presents cert/key, and (with server_name) checks the server's certificate
// against server_name instead of the dialed host. Errors as ReadTlsPem.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& address, const TlsConfig& tls,
    grpc::ChannelArguments args = grpc::ChannelArguments(),
    absl::string_view key_prefix = "cluster.tls.");

}  // namespace r1

#endif  // R1_WORKER_API_TLS_CREDENTIALS_H_
