// A small argument parser for subcommands: `--key value`, `--key=value`, boolean `--flag`, and
// positional arguments. Unknown options are errors that name the option.
#ifndef R1_CLI_ARGS_H_
#define R1_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace r1::cli {

struct ArgSpec {
  std::set<std::string> value_options;  // options that take a value, without "--"
  std::set<std::string> flag_options;   // boolean options, without "--"
};

class ParsedArgs {
 public:
  bool Has(const std::string& key) const { return values_.count(key) || flags_.count(key); }
  bool Flag(const std::string& key) const { return flags_.count(key) > 0; }
  std::optional<std::string> Get(const std::string& key) const;
  std::string GetOr(const std::string& key, const std::string& def) const;
  // Typed getters: InvalidArgument naming the option when the value does not parse.
  absl::StatusOr<int64_t> GetInt(const std::string& key, int64_t def) const;
  absl::StatusOr<double> GetDouble(const std::string& key, double def) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>&, const ArgSpec&);
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
};

// Parses `args`. "--help"/"-h" is reported as the flag "help" whatever the spec says.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args, const ArgSpec& spec);

}  // namespace r1::cli

#endif  // R1_CLI_ARGS_H_
