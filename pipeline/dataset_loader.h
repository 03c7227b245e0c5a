// Materialises a configured dataset: reads its JSONL file in the configured format, or runs its
// synthetic generator with the configured options. What the executor hands to stage loops.
#ifndef R1_PIPELINE_DATASET_LOADER_H_
#define R1_PIPELINE_DATASET_LOADER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/config.h"
#include "pipeline/datasets.h"

namespace r1 {

// Examples for prompt/answer-like formats, pairs for preference data (the other one is empty).
struct LoadedDataset {
  std::vector<Example> examples;
  std::vector<PreferencePair> pairs;
};

// Errors: the reader's (NotFound for a missing file, "FILE:LINE: ..." for a bad record), or
// InvalidArgument "datasets.NAME.synthetic.options.KEY: ..." for an unknown or ill-typed
// generator option. `limit` keeps the first records.
absl::StatusOr<LoadedDataset> LoadDataset(const DatasetConfig& config);

// Reads a dataset another stage wrote (rejection_sampling's data.jsonl, prompt_answer format).
absl::StatusOr<LoadedDataset> LoadStageDataset(const std::string& path);

}  // namespace r1

#endif  // R1_PIPELINE_DATASET_LOADER_H_
