// Subcommand argument parsing (see args.h).
#include "cli/args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace r1::cli {

std::optional<std::string> ParsedArgs::Get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string ParsedArgs::GetOr(const std::string& key, const std::string& def) const {
  auto v = Get(key);
  return v ? *v : def;
}

absl::StatusOr<int64_t> ParsedArgs::GetInt(const std::string& key, int64_t def) const {
  auto v = Get(key);
  if (!v) return def;
  int64_t out;
  if (!absl::SimpleAtoi(*v, &out)) {
    return absl::InvalidArgumentError(absl::StrCat("--", key, ": not an integer: \"", *v, "\""));
  }
  return out;
}

absl::StatusOr<double> ParsedArgs::GetDouble(const std::string& key, double def) const {
  auto v = Get(key);
  if (!v) return def;
  double out;
  if (!absl::SimpleAtod(*v, &out)) {
    return absl::InvalidArgumentError(absl::StrCat("--", key, ": not a number: \"", *v, "\""));
  }
  return out;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args, const ArgSpec& spec) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.flags_.insert("help");
      continue;
    }
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string key = a.substr(2);
      std::optional<std::string> value;
      auto eq = key.find('=');
      if (eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      }
      if (spec.flag_options.count(key)) {
        if (value) return absl::InvalidArgumentError(absl::StrCat("--", key, " takes no value"));
        out.flags_.insert(key);
      } else if (spec.value_options.count(key)) {
        if (!value) {
          if (i + 1 >= args.size()) {
            return absl::InvalidArgumentError(absl::StrCat("--", key, " needs a value"));
          }
          value = args[++i];
        }
        out.values_[key] = *value;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown option --", key));
      }
      continue;
    }
    out.positional_.push_back(a);
  }
  return out;
}

}  // namespace r1::cli
