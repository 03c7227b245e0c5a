// The stage DAG (see dag.h): Kahn's algorithm with config order as the tie-break, cycle search by
// depth-first walk, and the resolved-pipeline printout of `r1 validate`.
#include "pipeline/dag.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/str_util.h"

namespace r1 {

OutputKind StageOutputKind(StageType type) {
  switch (type) {
    case StageType::kPretrain:
    case StageType::kSft:
    case StageType::kGrpo:
      return OutputKind::kModel;
    case StageType::kRewardModel:
      return OutputKind::kRewardModel;
    case StageType::kRejectionSampling:
      return OutputKind::kDataset;
    case StageType::kEval:
      return OutputKind::kReport;
  }
  return OutputKind::kReport;
}

absl::string_view OutputKindName(OutputKind kind) {
  switch (kind) {
    case OutputKind::kModel:
      return "model";
    case OutputKind::kRewardModel:
      return "reward_model";
    case OutputKind::kDataset:
      return "dataset";
    case OutputKind::kReport:
      return "report";
  }
  return "unknown";
}

std::vector<std::string> FindCycle(const std::vector<StageConfig>& stages) {
  std::map<std::string, const StageConfig*> by_name;
  for (const auto& s : stages) by_name.emplace(s.name, &s);
  // 0 = unvisited, 1 = on the current path, 2 = done.
  std::map<std::string, int> color;
  std::vector<std::string> path;
  std::vector<std::string> cycle;

  // Iterative DFS would be longer; configs have tens of stages, so recursion depth is no concern.
  std::function<bool(const std::string&)> visit = [&](const std::string& name) -> bool {
    color[name] = 1;
    path.push_back(name);
    for (const auto& dep : by_name.at(name)->depends_on) {
      if (!by_name.count(dep)) continue;
      int c = color[dep];
      if (c == 1) {
        auto start = std::find(path.begin(), path.end(), dep);
        cycle.assign(start, path.end());
        cycle.push_back(dep);
        return true;
      }
      if (c == 0 && visit(dep)) return true;
    }
    path.pop_back();
    color[name] = 2;
    return false;
  };
  for (const auto& s : stages) {
    if (color[s.name] == 0 && visit(s.name)) return cycle;
  }
  return {};
}

absl::StatusOr<StageDag> StageDag::Build(const std::vector<StageConfig>& stages) {
  StageDag dag;
  for (const auto& s : stages) {
    if (!dag.deps_.emplace(s.name, s.depends_on).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate stage name \"", s.name, "\""));
    }
  }
  for (const auto& s : stages) {
    for (const auto& d : s.depends_on) {
      if (!dag.deps_.count(d)) {
        return absl::InvalidArgumentError(
            absl::StrCat("stage \"", s.name, "\" depends on unknown stage \"", d, "\""));
      }
    }
  }
  std::vector<std::string> cycle = FindCycle(stages);
  if (!cycle.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dependency cycle ", absl::StrJoin(cycle, " -> ")));
  }
  // Repeatedly take the first stage (in config order) whose dependencies are all placed.
  std::set<std::string> placed;
  while (dag.order_.size() < stages.size()) {
    for (const auto& s : stages) {
      if (placed.count(s.name)) continue;
      bool ready = std::all_of(s.depends_on.begin(), s.depends_on.end(),
                               [&](const std::string& d) { return placed.count(d) > 0; });
      if (ready) {
        placed.insert(s.name);
        dag.order_.push_back(s.name);
        break;
      }
    }
  }
  return dag;
}

StageDag StageDag::Unchecked(std::map<std::string, std::vector<std::string>> depends_on) {
  StageDag dag;
  dag.deps_ = std::move(depends_on);
  return dag;
}

std::vector<std::string> StageDag::ReadyStages(const std::set<std::string>& succeeded,
                                               const std::set<std::string>& excluded) const {
  std::vector<std::string> ready;
  for (const auto& name : order_) {
    if (succeeded.count(name) || excluded.count(name)) continue;
    const auto& deps = deps_.at(name);
    if (std::all_of(deps.begin(), deps.end(),
                    [&](const std::string& d) { return succeeded.count(d) > 0; })) {
      ready.push_back(name);
    }
  }
  return ready;
}

const std::vector<std::string>& StageDag::DependsOn(const std::string& stage) const {
  static const std::vector<std::string>* empty = new std::vector<std::string>();
  auto it = deps_.find(stage);
  return it == deps_.end() ? *empty : it->second;
}

std::set<std::string> StageDag::Ancestors(const std::string& stage) const {
  std::set<std::string> seen;
  std::vector<std::string> todo = {stage};
  while (!todo.empty()) {
    std::string cur = todo.back();
    todo.pop_back();
    for (const auto& d : DependsOn(cur)) {
      if (seen.insert(d).second) todo.push_back(d);
    }
  }
  return seen;
}

std::set<std::string> StageDag::Descendants(const std::string& stage) const {
  std::set<std::string> seen;
  // Dependents come after their dependencies in order_, so one forward pass suffices.
  for (const auto& name : order_) {
    for (const auto& d : DependsOn(name)) {
      if (d == stage || seen.count(d)) {
        seen.insert(name);
        break;
      }
    }
  }
  return seen;
}

namespace {

std::string DescribeOptimizer(const OptimizerConfig& o) {
  std::string s = absl::StrCat("lr=", RoundTripDouble(o.lr), " ", ToString(o.schedule));
  if (o.warmup_steps > 0) absl::StrAppend(&s, " warmup=", o.warmup_steps);
  if (o.weight_decay > 0) absl::StrAppend(&s, " wd=", RoundTripDouble(o.weight_decay));
  if (o.grad_clip > 0) absl::StrAppend(&s, " clip=", RoundTripDouble(o.grad_clip));
  return s;
}

std::string DescribeParams(const StageConfig& s) {
  switch (s.type) {
    case StageType::kPretrain:
    case StageType::kSft:
    case StageType::kRewardModel: {
      const TrainParams& t = s.train;
      std::string length =
          t.steps > 0 ? absl::StrCat("steps=", t.steps) : absl::StrCat("epochs=", t.epochs);
      return absl::StrCat(length, " batch=", t.batch_size, " seq=", t.max_seq_len, " ",
                          DescribeOptimizer(t.optimizer), " ckpt_every=", t.checkpoint_every);
    }
    case StageType::kGrpo: {
      const GrpoParams& g = s.grpo;
      std::vector<std::string> rewards;
      for (const auto& w : g.rewards) {
        std::string r = absl::StrCat(w.name, "*", RoundTripDouble(w.weight));
        if (w.scope != RewardScope::kResponse) absl::StrAppend(&r, "@", ToString(w.scope));
        if (w.model) absl::StrAppend(&r, "(", w.model->ToString(), ")");
        rewards.push_back(r);
      }
      return absl::StrCat(
          "steps=", g.steps, " prompts/step=", g.prompts_per_step, " G=", g.group_size,
          " T=", RoundTripDouble(g.sampling.temperature),
          " top_p=", RoundTripDouble(g.sampling.top_p), " max_new=", g.sampling.max_new_tokens,
          "\n      clip=[", RoundTripDouble(g.clip_low), ",", RoundTripDouble(g.clip_high),
          "] kl=", RoundTripDouble(g.kl_coef), "/", ToString(g.kl_estimator),
          " adv=", ToString(g.advantage), " agg=", ToString(g.loss_aggregation),
          g.dynamic_sampling ? " dynamic_sampling" : "", " ppo_epochs=", g.ppo_epochs, " ",
          DescribeOptimizer(g.optimizer), "\n      rewards: ", absl::StrJoin(rewards, " + "));
    }
    case StageType::kRejectionSampling: {
      const RejectionSamplingParams& p = s.rejection_sampling;
      return absl::StrCat(
          "k=", p.samples_per_prompt, " keep<=", p.max_kept_per_prompt,
          " T=", RoundTripDouble(p.sampling.temperature), " max_new=", p.sampling.max_new_tokens,
          p.filters.require_format ? " format-filter" : "", p.dedupe ? " dedupe" : "",
          " non_reasoning_ratio=", RoundTripDouble(p.non_reasoning_ratio));
    }
    case StageType::kEval:
      return absl::StrCat("k=", s.eval.samples_per_prompt,
                          " T=", RoundTripDouble(s.eval.sampling.temperature),
                          " top_p=", RoundTripDouble(s.eval.sampling.top_p),
                          " max_new=", s.eval.sampling.max_new_tokens);
  }
  return "";
}

}  // namespace

std::string DescribePipeline(const PipelineConfig& config, const StageDag& dag) {
  std::string out;
  absl::StrAppend(&out, "run: ", config.run.name, " (seed ", config.run.seed, ", dir ",
                  ResolvedRunDir(config), ")\n");
  if (!config.model.path.empty()) {
    absl::StrAppend(&out, "model: ", config.model.path);
  } else if (config.model.architecture) {
    const ArchitectureConfig& a = *config.model.architecture;
    absl::StrAppend(&out, "model: from scratch, ", a.num_layers, " layers, hidden ", a.hidden_size,
                    ", heads ", a.num_heads, "/", a.num_kv_heads);
  }
  absl::StrAppend(&out, ", tokenizer ", config.model.tokenizer, ", ", ToString(config.model.dtype),
                  "\n");
  const ClusterConfig& k = config.cluster;
  absl::StrAppend(&out, "cluster: ", ToString(k.mode), " via ", ToString(k.launcher), ", ",
                  ToString(k.placement), ", ", k.trainer_ranks, " trainer rank(s), ",
                  k.rollout_workers, " rollout worker(s), ",
                  k.worker_groups > 1 ? absl::StrCat(k.worker_groups, " worker groups, ") : "",
                  ToString(k.device), "/", ToString(k.backend), "\n");
  absl::StrAppend(&out, "datasets:\n");
  for (const auto& d : config.datasets) {
    if (d.synthetic) {
      absl::StrAppend(&out, "  ", d.name, ": synthetic ", d.synthetic->kind, " x",
                      d.synthetic->count, " (seed ", d.synthetic->seed, ") -> ", d.format, "\n");
    } else {
      absl::StrAppend(&out, "  ", d.name, ": ", d.path, " (", d.format, ")\n");
    }
  }
  absl::StrAppend(&out, "stages (", dag.TopologicalOrder().size(), ", in order):\n");
  int index = 1;
  for (const auto& name : dag.TopologicalOrder()) {
    const StageConfig* s = config.FindStage(name);
    if (s == nullptr) continue;
    absl::StrAppend(&out, "  ", index++, ". ", s->name, " [", StageTypeName(s->type), " -> ",
                    OutputKindName(StageOutputKind(s->type)), "]\n");
    absl::StrAppend(&out, "      depends_on: ",
                    s->depends_on.empty() ? "-" : absl::StrJoin(s->depends_on, ", "), "\n");
    std::vector<std::string> datasets;
    for (const auto& d : s->inputs.datasets) datasets.push_back(d.ToString());
    absl::StrAppend(&out, "      model: ", s->inputs.model.ToString(),
                    "  datasets: ", datasets.empty() ? "-" : absl::StrJoin(datasets, ", "), "\n");
    absl::StrAppend(&out, "      ", DescribeParams(*s), "\n");
  }
  return out;
}

}  // namespace r1
