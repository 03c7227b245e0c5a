// Rule rewards: the input and output of a reward, the RuleReward interface, a registry of rule
// rewards by name, and the weighted composition a GRPO stage scores responses with.
#ifndef R1_STAGES_REWARDS_REWARD_H_
#define R1_STAGES_REWARDS_REWARD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

// What a reward sees of one response. Views: the caller keeps the strings alive during the call.
struct RewardInput {
  absl::string_view prompt;     // the question as given to the policy; may be empty
  absl::string_view response;   // the generated text
  absl::string_view reference;  // reference answer or full solution ("... #### 18"); may be empty
  std::optional<int64_t> response_length_tokens;  // tokens in `response`, when the caller knows
};

struct RewardValue {
  double value = 0.0;
  std::string extracted;  // what was graded (accuracy: the extracted answer); empty otherwise
  // Named counts for metrics, summed by the caller over responses (code: tests by outcome, e.g.
  // {"passed", 3}, {"timeout", 1}); empty for most rewards.
  std::vector<std::pair<std::string, double>> counts;
  // Detail for people (the CLI prints it; code: the per-test results); null when none.
  nlohmann::json details;
};

// One rule reward. Implementations are immutable after construction: Compute is const and
// thread-safe. Compute fails (InvalidArgument) only when the input lacks what the reward needs
// (e.g. token length for a token-based overlong penalty); a bad response is a low value, not an
// error.
class RuleReward {
 public:
  virtual ~RuleReward() = default;
  virtual absl::StatusOr<RewardValue> Compute(const RewardInput& input) const = 0;
};

// Builds a reward from its params (a JSON object; null means defaults). Unknown keys and
// wrongly-typed values are InvalidArgument errors naming the reward, the key and the value.
using RuleRewardFactory =
    std::function<absl::StatusOr<std::unique_ptr<RuleReward>>(const nlohmann::json& params)>;

// Rule rewards by name. Not thread-safe for Register; Create/Names may run concurrently once
// registration is done.
class RewardRegistry {
 public:
  // AlreadyExists when `name` is taken; InvalidArgument for an empty name or factory.
  absl::Status Register(const std::string& name, RuleRewardFactory factory);
  // NotFound (listing the known names) for an unknown name; else the factory's result.
  absl::StatusOr<std::unique_ptr<RuleReward>> Create(absl::string_view name,
                                                     const nlohmann::json& params) const;
  std::vector<std::string> Names() const;  // sorted
  bool Contains(absl::string_view name) const { return factories_.count(name) > 0; }

 private:
  std::map<std::string, RuleRewardFactory, std::less<>> factories_;
};

// A registry holding the built-in rule rewards: "accuracy", "code", "format", "language",
// "overlong" (see accuracy.h, code.h, format.h, language.h, overlong.h for their params).
RewardRegistry BuiltinRewardRegistry();

// One term of a reward mix, e.g. {"accuracy", 1.0, {}} or {"overlong", 1.0, {"max_length": 4096,
// "cache_length": 512}}.
struct RewardSpec {
  std::string name;     // a registered rule reward
  double weight = 1.0;  // its weight in the sum; any finite value (negative penalises)
  nlohmann::json params = nlohmann::json::object();  // reward-specific options
};

struct RewardBreakdown {
  double total = 0.0;  // sum over parts of weight * value
  // Unweighted value of each reward, in spec order, keyed by reward name.
  std::vector<std::pair<std::string, double>> parts;
  std::string extracted;  // the first non-empty RewardValue::extracted among the parts
  // Every part's counts, keyed "NAME/KEY" ("code/passed"), in spec order.
  std::vector<std::pair<std::string, double>> counts;
  // The parts' non-null details, keyed by reward name (an object; empty when none).
  nlohmann::json details = nlohmann::json::object();
};

// The weighted sum of several rule rewards. Immutable after Create; Compute is thread-safe.
class CompositeReward {
 public:
  // InvalidArgument for no specs, a name listed twice or a non-finite weight; NotFound for an
  // unknown name (listing the known ones); a factory's error is prefixed with the reward's name.
  static absl::StatusOr<CompositeReward> Create(const std::vector<RewardSpec>& specs,
                                                const RewardRegistry& registry);

  // Errors of a part are returned prefixed with its name.
  absl::StatusOr<RewardBreakdown> Compute(const RewardInput& input) const;

  const std::vector<RewardSpec>& specs() const { return specs_; }

 private:
  std::vector<RewardSpec> specs_;
  std::vector<std::unique_ptr<RuleReward>> rewards_;  // parallel to specs_
};

// Parses "accuracy,format" and optional "1,0.5" into specs (weights default to 1). InvalidArgument
// for an empty name, a weight that is not a finite number, or a count mismatch.
absl::StatusOr<std::vector<RewardSpec>> ParseRewardSpecs(absl::string_view names,
                                                         absl::string_view weights);

}  // namespace r1

#endif  // R1_STAGES_REWARDS_REWARD_H_
