// A small real run for the report tests (report_test, report_browser_test): pretrain -> grpo ->
// eval on a tiny byte-vocabulary model, in process, a few seconds on one CPU thread.
#ifndef R1_TESTS_CLI_REPORT_RUN_H_
#define R1_TESTS_CLI_REPORT_RUN_H_

namespace r1 {

inline constexpr char kReportRunYaml[] = R"(run: {name: report_run, seed: 5}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
cluster: {launcher: in_process, max_stage_attempts: 1}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 64, seed: 1, options: {max_digits: 1}}}
  prompts: {synthetic: {kind: arithmetic, count: 32, seed: 2, options: {max_digits: 1}}}
  held_out: {synthetic: {kind: arithmetic, count: 4, seed: 9, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {optimizer: {lr: 1.0e-2}, batch_size: 8, steps: 12}
  - name: grpo
    type: grpo
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [prompts]}
    grpo:
      steps: 4
      prompts_per_step: 2
      group_size: 4
      max_new_tokens: 16
      rewards: [{name: format}, {name: accuracy}]
  - name: eval
    type: eval
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [held_out]}
    eval: {samples_per_prompt: 2, max_new_tokens: 16}
)";

}  // namespace r1

#endif  // R1_TESTS_CLI_REPORT_RUN_H_
