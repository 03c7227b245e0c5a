// Checked access to rule-reward params.
#include "stages/rewards/reward_params.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace r1 {

absl::StatusOr<RewardParams> RewardParams::Parse(absl::string_view reward,
                                                 const nlohmann::json& params,
                                                 std::initializer_list<absl::string_view> known) {
  if (params.is_null()) return RewardParams(std::string(reward), nlohmann::json::object());
  if (!params.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reward, ": params must be an object, got ", params.dump()));
  }
  for (const auto& item : params.items()) {
    bool ok = false;
    for (absl::string_view k : known) ok = ok || item.key() == k;
    if (!ok) {
      std::vector<std::string> names(known.begin(), known.end());
      return absl::InvalidArgumentError(absl::StrCat(reward, ": unknown param \"", item.key(),
                                                     "\" (known: ", absl::StrJoin(names, ", "),
                                                     ")"));
    }
  }
  return RewardParams(std::string(reward), params);
}

bool RewardParams::Has(absl::string_view key) const { return params_.contains(std::string(key)); }

absl::Status RewardParams::TypeError(absl::string_view key, absl::string_view expected) const {
  return absl::InvalidArgumentError(absl::StrCat(reward_, ": param \"", key, "\" must be ",
                                                 expected, ", got ",
                                                 params_.at(std::string(key)).dump()));
}

absl::StatusOr<double> RewardParams::Double(absl::string_view key, double def) const {
  if (!Has(key)) return def;
  const nlohmann::json& v = params_.at(std::string(key));
  if (!v.is_number() || !std::isfinite(v.get<double>())) return TypeError(key, "a finite number");
  return v.get<double>();
}

absl::StatusOr<int64_t> RewardParams::Int(absl::string_view key, int64_t def) const {
  if (!Has(key)) return def;
  const nlohmann::json& v = params_.at(std::string(key));
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
      return static_cast<int64_t>(d);
    }
  }
  return TypeError(key, "an integer");
}

absl::StatusOr<bool> RewardParams::Bool(absl::string_view key, bool def) const {
  if (!Has(key)) return def;
  const nlohmann::json& v = params_.at(std::string(key));
  if (!v.is_boolean()) return TypeError(key, "true or false");
  return v.get<bool>();
}

absl::StatusOr<std::string> RewardParams::String(absl::string_view key,
                                                 const std::string& def) const {
  if (!Has(key)) return def;
  const nlohmann::json& v = params_.at(std::string(key));
  if (!v.is_string()) return TypeError(key, "a string");
  return v.get<std::string>();
}

}  // namespace r1
