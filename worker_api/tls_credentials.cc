// TLS credentials from cluster.tls (see tls_credentials.h).
#include "worker_api/tls_credentials.h"

#include <grpc/grpc_security_constants.h>

#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"

namespace r1 {
namespace {

// One PEM file: readable, non-empty and holding a "-----BEGIN <kind>" block (a key may be
// "PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY", hence the suffix match for keys).
absl::Status ReadPem(const std::string& name, const std::string& path, bool is_key,
                     std::string* out) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(name, ": not set"));
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    // ReadFile says "open PATH: reason"; keep the reason, say what the file was for.
    std::string reason(text.status().message());
    const size_t colon = reason.rfind(": ");
    if (colon != std::string::npos) reason = reason.substr(colon + 2);
    return absl::InvalidArgumentError(absl::StrCat(name, ": cannot read ", path, ": ", reason));
  }
  const bool ok = is_key ? absl::StrContains(*text, "PRIVATE KEY-----")
                         : absl::StrContains(*text, "-----BEGIN CERTIFICATE-----");
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", path, " is not a PEM ", is_key ? "private key" : "certificate"));
  }
  *out = *std::move(text);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TlsPem> ReadTlsPem(const TlsConfig& tls, absl::string_view key_prefix) {
  TlsPem pem;
  for (const auto& [field, path, is_key, out] :
       {std::tuple<const char*, const std::string*, bool, std::string*>{"cert", &tls.cert, false,
                                                                        &pem.cert},
        {"key", &tls.key, true, &pem.key},
        {"ca", &tls.ca, false, &pem.ca}}) {
    absl::Status s = ReadPem(absl::StrCat(key_prefix, field), *path, is_key, out);
    if (!s.ok()) return s;
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsConfig& tls, absl::string_view key_prefix) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  absl::StatusOr<TlsPem> pem = ReadTlsPem(tls, key_prefix);
  if (!pem.ok()) return pem.status();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = pem->ca;
  options.pem_key_cert_pairs.push_back({pem->key, pem->cert});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& address,
                                                           const TlsConfig& tls,
                                                           grpc::ChannelArguments args,
                                                           absl::string_view key_prefix) {
  if (!tls.enabled()) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  absl::StatusOr<TlsPem> pem = ReadTlsPem(tls, key_prefix);
  if (!pem.ok()) return pem.status();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem->ca;
  options.pem_private_key = pem->key;
  options.pem_cert_chain = pem->cert;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

}  // namespace r1
