// The name tables of the config enums (see config_types.h).
#include "pipeline/config_types.h"

namespace r1 {

// Each table is built on first use and never destroyed (no exit-time destructor order issues).
#define R1_ENUM_TABLE(Enum, ...)                                                     \
  const std::vector<EnumEntry<Enum>>& EnumEntries(Enum) {                            \
    static const auto* const kTable = new std::vector<EnumEntry<Enum>>{__VA_ARGS__}; \
    return *kTable;                                                                  \
  }

R1_ENUM_TABLE(ClusterMode, {ClusterMode::kLocal, "local"}, {ClusterMode::kExternal, "external"})
R1_ENUM_TABLE(Launcher, {Launcher::kMpirun, "mpirun"}, {Launcher::kSrun, "srun"},
              {Launcher::kK8s, "k8s"}, {Launcher::kInProcess, "in_process"})
R1_ENUM_TABLE(Placement, {Placement::kColocated, "colocated"},
              {Placement::kDisaggregated, "disaggregated"})
R1_ENUM_TABLE(CollectiveBackend, {CollectiveBackend::kMpi, "mpi"},
              {CollectiveBackend::kNccl, "nccl"}, {CollectiveBackend::kAuto, "auto"})
R1_ENUM_TABLE(DeviceKind, {DeviceKind::kCpu, "cpu"}, {DeviceKind::kCuda, "cuda"})
R1_ENUM_TABLE(ModelDtype, {Dtype::kFloat32, DtypeName(Dtype::kFloat32)},
              {Dtype::kBFloat16, DtypeName(Dtype::kBFloat16)},
              {Dtype::kFloat16, DtypeName(Dtype::kFloat16)})
R1_ENUM_TABLE(LrSchedule, {LrSchedule::kConstant, "constant"}, {LrSchedule::kLinear, "linear"},
              {LrSchedule::kCosine, "cosine"})
R1_ENUM_TABLE(KlEstimator, {KlEstimator::kK1, "k1"}, {KlEstimator::kK2, "k2"},
              {KlEstimator::kK3, "k3"})
R1_ENUM_TABLE(LossAggregation, {LossAggregation::kSeqMeanTokenMean, "sequence_mean"},
              {LossAggregation::kTokenMean, "token_mean"},
              {LossAggregation::kSeqMeanTokenSumNorm, "constant"})
R1_ENUM_TABLE(AdvantageEstimator, {AdvantageEstimator::kGrpo, "grpo"},
              {AdvantageEstimator::kDrGrpo, "dr_grpo"}, {AdvantageEstimator::kRloo, "rloo"})
R1_ENUM_TABLE(RewardScope, {RewardScope::kResponse, "response"}, {RewardScope::kAnswer, "answer"})
R1_ENUM_TABLE(RewardTarget, {RewardTarget::kAuto, "auto"}, {RewardTarget::kReasoning, "reasoning"},
              {RewardTarget::kGeneral, "general"}, {RewardTarget::kAll, "all"})

#undef R1_ENUM_TABLE

}  // namespace r1
