// Fuzzes the YAML config loader and validator (pipeline/config.h) with arbitrary text: parsing
// never throws or crashes, and a config that parses without errors round-trips through its
// resolved YAML (ConfigToYaml's contract: ParseConfig(ConfigToYaml(c)) gives back c).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "pipeline/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  r1::ConfigParseResult parsed = r1::ParseConfigCollect(yaml);
  for (const r1::ConfigError& error : parsed.errors) {
    if (error.message.empty()) {
      std::fprintf(stderr, "config error at '%s' has no message\n", error.path.c_str());
      std::abort();
    }
  }
  if (!parsed.errors.empty()) return 0;
  const std::string resolved = r1::ConfigToYaml(parsed.config);
  r1::ConfigParseResult again = r1::ParseConfigCollect(resolved);
  if (!again.errors.empty()) {
    std::fprintf(stderr, "resolved YAML of a valid config is invalid: %s\n---\n%s\n",
                 again.errors.front().ToString().c_str(), resolved.c_str());
    std::abort();
  }
  if (r1::ConfigToYaml(again.config) != resolved) {
    std::fprintf(stderr, "resolved YAML does not round-trip:\n%s\n", resolved.c_str());
    std::abort();
  }
  return 0;
}
