// DefaultConfigYaml(): configs/tiny-r1.yaml, embedded at build time by pipeline/CMakeLists.txt.
#include "pipeline/config.h"

namespace r1 {

absl::string_view DefaultConfigYaml() {
  static constexpr char kYaml[] =
#include "pipeline/default_config_yaml.inc"
      ;
  return absl::string_view(kYaml, sizeof(kYaml) - 1);
}

}  // namespace r1
