// --tls-* options (see tls_flags.h).
#include "cli/tls_flags.h"

#include "base/file_util.h"

namespace r1::cli {

void AddTlsOptions(ArgSpec* spec) {
  spec->value_options.insert({"tls-cert", "tls-key", "tls-ca", "tls-server-name"});
}

TlsConfig TlsFromFlags(const ParsedArgs& args, TlsConfig defaults) {
  defaults.cert = args.GetOr("tls-cert", defaults.cert);
  defaults.key = args.GetOr("tls-key", defaults.key);
  defaults.ca = args.GetOr("tls-ca", defaults.ca);
  defaults.server_name = args.GetOr("tls-server-name", defaults.server_name);
  return defaults;
}

TlsConfig TlsForRunDir(const ParsedArgs& args, const std::string& run_dir) {
  TlsConfig tls;
  const std::string run_yaml = JoinPath(run_dir, "run.yaml");
  if (PathExists(run_yaml)) {
    absl::StatusOr<PipelineConfig> config = LoadConfig(run_yaml);
    if (config.ok()) tls = config->cluster.tls;
  }
  return TlsFromFlags(args, tls);
}

}  // namespace r1::cli
