// `r1 validate CONFIG`: parse and check a pipeline config and print the resolved DAG. Reads the
// config only; writes nothing. Exit 0 when valid, 1 on config errors (all printed), 2 on usage.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "pipeline/config.h"
#include "pipeline/dag.h"
#include "worker_api/tls_credentials.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 validate [CONFIG] [--print-resolved]

Parses a pipeline config, checks it (unknown keys, stage types, dependencies and cycles, inputs
and their kinds, numeric ranges, cluster.tls's files: readable PEM) and prints the resolved DAG:
the stages in the order they run, with type, output kind, dependencies, inputs and key
parameters. Writes nothing.

  CONFIG             a YAML pipeline config; without it, the built-in tiny-r1 pipeline
  --print-resolved   also print the resolved config (what run.yaml would hold)

Exit status: 0 valid, 1 invalid (every error is printed, one per line, to stderr), 2 usage.)";

int RunValidate(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.flag_options = {"print-resolved"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok()) {
    std::fprintf(stderr, "r1 validate: %s\n%s\n", std::string(args.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  if (args->positional().size() > 1) {
    std::fprintf(stderr, "r1 validate: expected one CONFIG, got %zu arguments\n%s\n",
                 args->positional().size(), kUsage);
    return 2;
  }

  ConfigParseResult result;
  std::string source = "(built-in tiny-r1)";
  if (args->positional().empty()) {
    result = ParseConfigCollect(DefaultConfigYaml(), ConfigParseOptions{"", source});
  } else {
    source = args->positional()[0];
    absl::StatusOr<ConfigParseResult> loaded = LoadConfigCollect(source);
    if (!loaded.ok()) {
      std::fprintf(stderr, "r1 validate: %s\n", std::string(loaded.status().message()).c_str());
      return 1;
    }
    result = *std::move(loaded);
  }
  if (result.errors.empty() && result.config.cluster.tls.enabled()) {
    // cluster.tls names files: they must be readable PEM ("cluster.tls.cert: cannot read ...").
    absl::StatusOr<TlsPem> pem = ReadTlsPem(result.config.cluster.tls);
    if (!pem.ok()) {
      const std::string message(pem.status().message());
      const size_t colon = message.find(": ");
      result.errors.push_back(ConfigError{message.substr(0, colon), message.substr(colon + 2)});
    }
  }
  if (!result.errors.empty()) {
    std::fprintf(stderr, "%s: %zu error(s):\n", source.c_str(), result.errors.size());
    for (const auto& e : result.errors) std::fprintf(stderr, "  %s\n", e.ToString().c_str());
    return 1;
  }
  absl::StatusOr<StageDag> dag = StageDag::Build(result.config.stages);
  if (!dag.ok()) {  // cannot happen after validation; reported rather than trusted
    std::fprintf(stderr, "%s: %s\n", source.c_str(), std::string(dag.status().message()).c_str());
    return 1;
  }
  std::printf("%s: OK\n%s", source.c_str(), DescribePipeline(result.config, *dag).c_str());
  if (args->Flag("print-resolved")) {
    std::printf("\n# resolved config\n%s", ConfigToYaml(result.config).c_str());
  }
  return 0;
}

}  // namespace

R1_REGISTER_COMMAND(Command{"validate", "check a pipeline config and print its stage DAG", kUsage,
                            RunValidate});

}  // namespace r1::cli
