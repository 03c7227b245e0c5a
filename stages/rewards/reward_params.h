// Typed, checked access to a rule reward's JSON params: unknown keys and wrongly-typed values are
// errors that name the reward, the key and the value.
#ifndef R1_STAGES_REWARDS_REWARD_PARAMS_H_
#define R1_STAGES_REWARDS_REWARD_PARAMS_H_

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

class RewardParams {
 public:
  // `params` must be a JSON object or null (= no params); every key must be in `known`.
  // InvalidArgument otherwise, naming `reward` and the offending key.
  static absl::StatusOr<RewardParams> Parse(absl::string_view reward, const nlohmann::json& params,
                                            std::initializer_list<absl::string_view> known);

  bool Has(absl::string_view key) const;
  // The value at `key`, or `def` when absent; InvalidArgument when present with another type.
  absl::StatusOr<double> Double(absl::string_view key, double def) const;
  absl::StatusOr<int64_t> Int(absl::string_view key, int64_t def) const;
  absl::StatusOr<bool> Bool(absl::string_view key, bool def) const;
  absl::StatusOr<std::string> String(absl::string_view key, const std::string& def) const;

 private:
  RewardParams(std::string reward, nlohmann::json params)
      : reward_(std::move(reward)), params_(std::move(params)) {}
  absl::Status TypeError(absl::string_view key, absl::string_view expected) const;

  std::string reward_;
  nlohmann::json params_;  // an object
};

}  // namespace r1

#endif  // R1_STAGES_REWARDS_REWARD_PARAMS_H_
