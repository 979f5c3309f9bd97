// The README.md model card of a trained graph-text model: what it is, how it was trained
// (every stage's recipe, time and the command that reproduces it) and how well it answers.
// The stages also go to training.json in the checkpoint, so a later stage that continues
// from it (--init-from) can list the whole history.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/lm/accuracy_table.h"
#include "common/lm/lm_trainer.h"
#include "nlohmann/json.hpp"

namespace gp {

struct TrainingStage {
  std::string command;  // the exact command line
  std::string recipe;   // one paragraph: optimizer, schedule, data, seed, loss, time
  double seconds = 0;

  nlohmann::json ToJson() const;
  static absl::StatusOr<TrainingStage> FromJson(const nlohmann::json& json);
};

// The recipe paragraph of one training run.
std::string DescribeTrainingStage(const LmTrainOptions& options, int steps_run, double seconds,
                                  double first_loss, double last_loss, const std::string& machine);

struct ModelCardFacts {
  std::string name;                   // e.g. "graph-toy"
  LmTrainOptions options;             // of the last stage: task, shape, evaluation
  std::vector<TrainingStage> stages;  // oldest first
  ParentAccuracy accuracy;            // of the saved (bfloat16) weights
  std::vector<AccuracyCell> table;    // of the saved weights, `graphprobe eval-lm`'s defaults
  int64_t parameters = 0;
  int64_t vocab_size = 0;
};

std::string ModelCardMarkdown(const ModelCardFacts& facts);

}  // namespace gp
