// The TLS options of the commands that talk to a run's services (`r1 worker`, `r1 status`,
// `r1 cancel`): --tls-cert, --tls-key, --tls-ca, --tls-server-name (see cluster.tls in
// pipeline/config.h). A flag given replaces that one field of the defaults.
#ifndef R1_CLI_TLS_FLAGS_H_
#define R1_CLI_TLS_FLAGS_H_

#include <string>

#include "cli/args.h"
#include "pipeline/config.h"

namespace r1::cli {

// Adds the four options to `spec`.
void AddTlsOptions(ArgSpec* spec);

// `defaults` with every --tls-* flag given applied.
TlsConfig TlsFromFlags(const ParsedArgs& args, TlsConfig defaults = {});

// cluster.tls of the run in `run_dir` (its run.yaml, which holds resolved absolute paths), with the
// --tls-* flags applied; only the flags when run.yaml is missing or unreadable.
TlsConfig TlsForRunDir(const ParsedArgs& args, const std::string& run_dir);

}  // namespace r1::cli

#endif  // R1_CLI_TLS_FLAGS_H_
