// Fan-out of WorkerClient calls over a worker group (see worker_group.h).
#include "scheduler/worker_group.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

// Runs fn(i) for i in [0, n) on n threads (inline when n == 1); returns the statuses in order.
std::vector<absl::Status> RunParallel(size_t n, const std::function<absl::Status(size_t)>& fn) {
  std::vector<absl::Status> statuses(n);
  if (n == 1) {
    statuses[0] = fn(0);
    return statuses;
  }
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i) threads.emplace_back([&, i] { statuses[i] = fn(i); });
  for (std::thread& t : threads) t.join();
  return statuses;
}

// The first error, preferring a real failure over the echoes of others (Cancelled; Aborted:
// a data-parallel rank whose step another rank failed), with the member's id prefixed.
absl::Status FirstError(const std::vector<absl::Status>& statuses,
                        const std::vector<const GroupMember*>& members) {
  auto echo = [](const absl::Status& s) { return absl::IsCancelled(s) || absl::IsAborted(s); };
  int pick = -1;
  for (size_t i = 0; i < statuses.size(); ++i) {
    if (statuses[i].ok()) continue;
    if (pick < 0 || (echo(statuses[pick]) && !echo(statuses[i]))) pick = static_cast<int>(i);
  }
  if (pick < 0) return absl::OkStatus();
  return absl::Status(statuses[pick].code(),
                      absl::StrCat("worker ", members[pick]->id, ": ", statuses[pick].message()));
}

template <typename T>
std::vector<T> Slice(const std::vector<T>& v, std::pair<size_t, size_t> range) {
  if (v.empty()) return {};
  return std::vector<T>(v.begin() + range.first, v.begin() + range.second);
}

}  // namespace

WorkerGroup::WorkerGroup(std::vector<GroupMember> members) : members_(std::move(members)) {
  bool shared = false;  // some member both trains and generates
  for (const GroupMember& m : members_) {
    if (m.trainer) trainers_.push_back(&m);
    if (m.rollout && !m.trainer) disaggregated_ = true;
    if (m.rollout && m.trainer) shared = true;
  }
  generates_apart_ = disaggregated_ && !shared;
}

absl::Status WorkerGroup::Validate() const {
  if (trainers_.empty()) return absl::InvalidArgumentError("worker group has no trainer");
  bool rollout = false;
  for (const GroupMember& m : members_) {
    if (m.client == nullptr) return absl::InvalidArgumentError(absl::StrCat(m.id, ": no client"));
    rollout = rollout || m.rollout;
  }
  if (!rollout) return absl::InvalidArgumentError("worker group has no rollout worker");
  return absl::OkStatus();
}

std::pair<size_t, size_t> WorkerGroup::Share(size_t n, size_t index, size_t count) {
  const size_t base = n / count, extra = n % count;
  const size_t begin = index * base + std::min(index, extra);
  return {begin, begin + base + (index < extra ? 1 : 0)};
}

absl::Status WorkerGroup::CheckCancelled() const {
  if (cancelled_) return absl::CancelledError("the run was cancelled");
  return absl::OkStatus();
}

std::vector<const GroupMember*> WorkerGroup::Holders(const std::string& slot) const {
  if (slot != "policy") return trainers_;
  std::vector<const GroupMember*> all;
  for (const GroupMember& m : members_) all.push_back(&m);
  return all;
}

std::vector<const GroupMember*> WorkerGroup::Generators(const std::string& slot) const {
  if (slot != "policy") return trainers_;
  std::vector<const GroupMember*> out;
  for (const GroupMember& m : members_) {
    if (m.rollout) out.push_back(&m);
  }
  return out;
}

absl::Status WorkerGroup::LoadModel(const std::string& slot, const std::string& model_dir,
                                    const OptimizerOptions* optimizer,
                                    const std::string& checkpoint_dir) {
  R1_RETURN_IF_ERROR(CheckCancelled());
  std::vector<const GroupMember*> holders = Holders(slot);
  R1_RETURN_IF_ERROR(FirstError(
      RunParallel(holders.size(),
                  [&](size_t i) {
                    // Only trainers train: rollout-only members get a frozen copy.
                    const bool train = holders[i]->trainer && optimizer != nullptr;
                    return holders[i]->client->LoadModel(
                        slot, model_dir, train ? optimizer : nullptr, train ? checkpoint_dir : "");
                  }),
      holders));
  // Resuming from a checkpoint: the rollout-only copies must start from the trained weights.
  if (slot == "policy" && disaggregated_ && !checkpoint_dir.empty()) {
    return SyncWeights().status();
  }
  return absl::OkStatus();
}

absl::Status WorkerGroup::InitModel(const std::string& slot, const std::string& hf_config_json,
                                    const std::string& tokenizer, uint64_t seed,
                                    const OptimizerOptions* optimizer) {
  R1_RETURN_IF_ERROR(CheckCancelled());
  std::vector<const GroupMember*> holders = Holders(slot);
  return FirstError(RunParallel(holders.size(),
                                [&](size_t i) {
                                  const bool train = holders[i]->trainer && optimizer != nullptr;
                                  return holders[i]->client->InitModel(slot, hf_config_json,
                                                                       tokenizer, seed,
                                                                       train ? optimizer : nullptr);
                                }),
                    holders);
}

absl::StatusOr<std::vector<TokenSeq>> WorkerGroup::Tokenize(const std::vector<std::string>& texts) {
  R1_RETURN_IF_ERROR(CheckCancelled());
  return trainers_.front()->client->Tokenize(texts);
}

absl::StatusOr<int32_t> WorkerGroup::EosId() {
  R1_RETURN_IF_ERROR(CheckCancelled());
  return trainers_.front()->client->EosId();
}

absl::StatusOr<std::vector<Rollout>> WorkerGroup::Generate(
    const std::string& slot, const std::vector<RolloutRequest>& requests) {
  return CollectStreamed(slot, requests);
}

absl::Status WorkerGroup::GenerateStreaming(const std::string& slot,
                                            const std::vector<RolloutRequest>& requests,
                                            const RolloutSink& sink) {
  R1_RETURN_IF_ERROR(CheckCancelled());
  const std::vector<const GroupMember*> gens = Generators(slot);
  // Each member streams its share into `ready` from its own thread; this thread hands the
  // rollouts to `sink` as they arrive (the sink runs on the calling thread, as the contract says).
  struct Arrived {
    size_t index;
    Rollout rollout;
  };
  std::mutex mu;
  std::condition_variable changed;
  std::deque<Arrived> ready;
  size_t members_done = 0;
  bool stop = false;  // the sink failed: members end their calls
  std::vector<absl::Status> statuses(gens.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < gens.size(); ++i) {
    threads.emplace_back([&, i] {
      const auto range = Share(requests.size(), i, gens.size());
      absl::Status s;
      if (range.first != range.second) {
        s = gens[i]->client->GenerateStreaming(
            slot, Slice(requests, range), [&](size_t k, Rollout r) -> absl::Status {
              if (k >= range.second - range.first) {
                return absl::InternalError(absl::StrCat("rollout index ", k, " of a share of ",
                                                        range.second - range.first));
              }
              std::lock_guard<std::mutex> lock(mu);
              if (stop) return absl::CancelledError("the caller stopped taking rollouts");
              ready.push_back({range.first + k, std::move(r)});
              changed.notify_all();
              return absl::OkStatus();
            });
      }
      std::lock_guard<std::mutex> lock(mu);
      statuses[i] = s;
      ++members_done;
      changed.notify_all();
    });
  }
  absl::Status sink_status;
  size_t handed = 0;
  while (true) {
    std::unique_lock<std::mutex> lock(mu);
    changed.wait(lock, [&] { return !ready.empty() || members_done == gens.size(); });
    if (ready.empty()) break;
    Arrived next = std::move(ready.front());
    ready.pop_front();
    lock.unlock();
    if (!sink_status.ok()) continue;  // drain what is left
    sink_status = sink(next.index, std::move(next.rollout));
    ++handed;
    if (!sink_status.ok()) {
      lock.lock();
      stop = true;
    }
  }
  for (std::thread& t : threads) t.join();
  R1_RETURN_IF_ERROR(sink_status);
  R1_RETURN_IF_ERROR(FirstError(statuses, gens));
  if (handed != requests.size()) {
    return absl::InternalError(absl::StrCat("worker group: ", handed, " rollouts streamed for ",
                                            requests.size(), " requests"));
  }
  return absl::OkStatus();
}

template <typename Row, typename Call>
absl::StatusOr<std::vector<Row>> WorkerGroup::OverTrainers(const char* what,
                                                           const std::vector<TokenSeq>& prompts,
                                                           const std::vector<TokenSeq>& responses,
                                                           Call call) {
  R1_RETURN_IF_ERROR(CheckCancelled());
  if (prompts.size() != responses.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", prompts.size(), " prompts but ", responses.size(), " responses"));
  }
  std::vector<std::vector<Row>> parts(trainers_.size());
  R1_RETURN_IF_ERROR(FirstError(
      RunParallel(trainers_.size(),
                  [&](size_t i) -> absl::Status {
                    auto range = Share(prompts.size(), i, trainers_.size());
                    if (range.first == range.second) return absl::OkStatus();
                    R1_ASSIGN_OR_RETURN(parts[i], call(*trainers_[i]->client, Slice(prompts, range),
                                                       Slice(responses, range)));
                    return absl::OkStatus();
                  }),
      trainers_));
  std::vector<Row> out;
  out.reserve(prompts.size());
  for (auto& part : parts) {
    for (Row& row : part) out.push_back(std::move(row));
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<float>>> WorkerGroup::Logprobs(
    const std::string& slot, const std::vector<TokenSeq>& prompts,
    const std::vector<TokenSeq>& responses, float temperature) {
  return OverTrainers<std::vector<float>>(
      "Logprobs", prompts, responses,
      [&](WorkerClient& w, const std::vector<TokenSeq>& p, const std::vector<TokenSeq>& r) {
        return w.Logprobs(slot, p, r, temperature);
      });
}

absl::StatusOr<std::vector<float>> WorkerGroup::Score(const std::string& slot,
                                                      const std::vector<TokenSeq>& prompts,
                                                      const std::vector<TokenSeq>& responses) {
  return OverTrainers<float>("Score", prompts, responses,
                             [&](WorkerClient& w, const std::vector<TokenSeq>& p,
                                 const std::vector<TokenSeq>& r) { return w.Score(slot, p, r); });
}

absl::StatusOr<StepMetrics> WorkerGroup::TrainStep(const std::string& slot,
                                                   const TrainBatch& batch) {
  R1_RETURN_IF_ERROR(CheckCancelled());
  const size_t n = batch.prompts.size();
  std::vector<StepMetrics> metrics(trainers_.size());
  R1_RETURN_IF_ERROR(FirstError(
      RunParallel(trainers_.size(),
                  [&](size_t i) -> absl::Status {
                    // Every rank takes part, an empty shard included: the ranks all-reduce.
                    auto range = Share(n, i, trainers_.size());
                    TrainBatch shard;
                    shard.objective = batch.objective;
                    shard.step = batch.step;
                    shard.policy_loss = batch.policy_loss;
                    shard.micro_batch_size = batch.micro_batch_size;
                    shard.micro_batch_tokens = batch.micro_batch_tokens;
                    shard.prompts = Slice(batch.prompts, range);
                    shard.responses = Slice(batch.responses, range);
                    shard.advantages = Slice(batch.advantages, range);
                    shard.old_logprobs = Slice(batch.old_logprobs, range);
                    shard.ref_logprobs = Slice(batch.ref_logprobs, range);
                    shard.behaviour_logprobs = Slice(batch.behaviour_logprobs, range);
                    shard.rejected = Slice(batch.rejected, range);
                    R1_ASSIGN_OR_RETURN(metrics[i], trainers_[i]->client->TrainStep(slot, shard));
                    return absl::OkStatus();
                  }),
      trainers_));
  StepMetrics out = metrics.front();
  out["trainer_ranks"] = static_cast<double>(trainers_.size());
  return out;
}

absl::Status WorkerGroup::Save(const std::string& slot, const std::string& dir,
                               const std::string& trainer_state_json, bool weights_only) {
  R1_RETURN_IF_ERROR(CheckCancelled());
  absl::Status s = trainers_.front()->client->Save(slot, dir, trainer_state_json, weights_only);
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("worker ", trainers_.front()->id, ": ", s.message()));
}

absl::StatusOr<SyncStats> WorkerGroup::SyncWeights() {
  R1_RETURN_IF_ERROR(CheckCancelled());
  if (!disaggregated_) return SyncStats{};  // every generator trains: its policy is current
  std::vector<const GroupMember*> all = Holders("policy");
  std::vector<SyncStats> stats(all.size());
  R1_RETURN_IF_ERROR(FirstError(RunParallel(all.size(),
                                            [&](size_t i) -> absl::Status {
                                              R1_ASSIGN_OR_RETURN(stats[i],
                                                                  all[i]->client->SyncWeights());
                                              return absl::OkStatus();
                                            }),
                                all));
  SyncStats out;
  for (const SyncStats& s : stats) {
    out.bytes_moved = std::max(out.bytes_moved, s.bytes_moved);
    out.seconds = std::max(out.seconds, s.seconds);
  }
  return out;
}

}  // namespace r1
