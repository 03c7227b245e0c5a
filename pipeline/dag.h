// The stage DAG: dependency order, which stages may start given the ones that succeeded, what
// each stage produces, and a printable view of the resolved pipeline (`r1 validate`).
#ifndef R1_PIPELINE_DAG_H_
#define R1_PIPELINE_DAG_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipeline/config.h"

namespace r1 {

// What a stage leaves in RUN_DIR/<stage>/output/.
enum class OutputKind {
  kModel,        // a policy model (Hugging Face directory): pretrain, sft, grpo
  kRewardModel,  // a scalar-head reward model (Hugging Face directory): reward_model
  kDataset,      // a JSONL dataset: rejection_sampling
  kReport,       // metrics only (eval); nothing other stages can consume
};

OutputKind StageOutputKind(StageType type);
absl::string_view OutputKindName(OutputKind kind);  // "model", "reward_model", "dataset", "report"

// A cycle among `stages` as "a -> b -> c -> a" (names in dependency direction: a depends on b),
// or empty when there is none. Unknown dependencies are ignored here.
std::vector<std::string> FindCycle(const std::vector<StageConfig>& stages);

// Immutable after Build; thread-safe for concurrent const use.
class StageDag {
 public:
  // InvalidArgument if a stage name repeats, a dependency is unknown or the graph has a cycle
  // (the message names them). A config that passed ValidateConfig always builds.
  static absl::StatusOr<StageDag> Build(const std::vector<StageConfig>& stages);
  // The graph `depends_on` (stage -> its direct dependencies) without Build's checks, for
  // DependsOn and Ancestors on a config that may be invalid: a name not in the map leads nowhere
  // and cycles are safe. TopologicalOrder, ReadyStages and Descendants are empty.
  static StageDag Unchecked(std::map<std::string, std::vector<std::string>> depends_on);

  // Every stage, dependencies before dependents; among stages that are ready at the same time,
  // config order.
  const std::vector<std::string>& TopologicalOrder() const { return order_; }

  // Stages not in `succeeded` nor in `excluded` (running, failed...) whose dependencies have all
  // succeeded, in topological order.
  std::vector<std::string> ReadyStages(const std::set<std::string>& succeeded,
                                       const std::set<std::string>& excluded = {}) const;

  // Direct dependencies of `stage` (empty for an unknown name).
  const std::vector<std::string>& DependsOn(const std::string& stage) const;
  // Every stage `stage` depends on, directly or transitively.
  std::set<std::string> Ancestors(const std::string& stage) const;
  // Stages that depend on `stage`, directly or transitively (what a failure blocks).
  std::set<std::string> Descendants(const std::string& stage) const;

  bool Contains(const std::string& stage) const { return deps_.count(stage) > 0; }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::vector<std::string>> deps_;
};

// Human-readable resolved pipeline: run, model, cluster, datasets, then each stage in
// topological order with its type, output kind, dependencies, inputs and key parameters.
std::string DescribePipeline(const PipelineConfig& config, const StageDag& dag);

}  // namespace r1

#endif  // R1_PIPELINE_DAG_H_
