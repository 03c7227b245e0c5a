// The rule-reward registry and the weighted composition of rewards.
#include "stages/rewards/reward.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace r1 {

absl::Status RewardRegistry::Register(const std::string& name, RuleRewardFactory factory) {
  if (name.empty()) return absl::InvalidArgumentError("reward registry: empty reward name");
  if (!factory) {
    return absl::InvalidArgumentError(
        absl::StrCat("reward registry: no factory for \"", name, "\""));
  }
  if (factories_.count(name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("reward registry: reward \"", name, "\" is already registered"));
  }
  factories_.emplace(name, std::move(factory));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RuleReward>> RewardRegistry::Create(
    absl::string_view name, const nlohmann::json& params) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    return absl::NotFoundError(
        absl::StrCat("unknown reward \"", name, "\" (known: ", absl::StrJoin(Names(), ", "), ")"));
  }
  return it->second(params);
}

std::vector<std::string> RewardRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

absl::StatusOr<CompositeReward> CompositeReward::Create(const std::vector<RewardSpec>& specs,
                                                        const RewardRegistry& registry) {
  if (specs.empty()) return absl::InvalidArgumentError("reward mix: no rewards given");
  CompositeReward composite;
  std::set<std::string> seen;
  for (const RewardSpec& spec : specs) {
    if (!seen.insert(spec.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("reward mix: reward \"", spec.name, "\" listed twice"));
    }
    if (!std::isfinite(spec.weight)) {
      return absl::InvalidArgumentError(absl::StrCat("reward mix: weight of \"", spec.name,
                                                     "\" is not a finite number: ", spec.weight));
    }
    absl::StatusOr<std::unique_ptr<RuleReward>> reward = registry.Create(spec.name, spec.params);
    if (!reward.ok()) {
      if (reward.status().code() == absl::StatusCode::kNotFound) return reward.status();
      return absl::Status(reward.status().code(),
                          absl::StrCat("reward \"", spec.name, "\": ", reward.status().message()));
    }
    composite.specs_.push_back(spec);
    composite.rewards_.push_back(*std::move(reward));
  }
  return composite;
}

absl::StatusOr<RewardBreakdown> CompositeReward::Compute(const RewardInput& input) const {
  RewardBreakdown breakdown;
  breakdown.parts.reserve(specs_.size());
  for (size_t i = 0; i < specs_.size(); ++i) {
    absl::StatusOr<RewardValue> value = rewards_[i]->Compute(input);
    if (!value.ok()) {
      return absl::Status(value.status().code(), absl::StrCat("reward \"", specs_[i].name,
                                                              "\": ", value.status().message()));
    }
    breakdown.total += specs_[i].weight * value->value;
    breakdown.parts.emplace_back(specs_[i].name, value->value);
    if (breakdown.extracted.empty()) breakdown.extracted = std::move(value->extracted);
    for (auto& [key, count] : value->counts) {
      breakdown.counts.emplace_back(absl::StrCat(specs_[i].name, "/", key), count);
    }
    if (!value->details.is_null()) breakdown.details[specs_[i].name] = std::move(value->details);
  }
  return breakdown;
}

absl::StatusOr<std::vector<RewardSpec>> ParseRewardSpecs(absl::string_view names,
                                                         absl::string_view weights) {
  std::vector<RewardSpec> specs;
  for (absl::string_view name : absl::StrSplit(names, ',')) {
    name = absl::StripAsciiWhitespace(name);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("reward list \"", names, "\" has an empty name"));
    }
    specs.push_back(RewardSpec{std::string(name), 1.0, nlohmann::json::object()});
  }
  if (weights.empty()) return specs;
  std::vector<std::string> parts = absl::StrSplit(weights, ',');
  if (parts.size() != specs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("got ", parts.size(), " weights (\"", weights,
                                                   "\") for ", specs.size(), " rewards"));
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string text(absl::StripAsciiWhitespace(parts[i]));
    char* end = nullptr;
    double w = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(w)) {
      return absl::InvalidArgumentError(absl::StrCat("weight \"", parts[i], "\" for reward \"",
                                                     specs[i].name, "\" is not a finite number"));
    }
    specs[i].weight = w;
  }
  return specs;
}

}  // namespace r1
