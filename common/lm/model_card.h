// The README.md model card of a trained graph-text model: what it is, how it was trained
// (recipe, seed, time, the command that reproduces it) and how well it answers.
#pragma once

#include <string>

#include "common/lm/lm_trainer.h"

namespace gp {

struct ModelCardFacts {
  std::string name;     // e.g. "graph-toy"
  std::string command;  // the exact command line that trained it
  LmTrainOptions options;
  ParentAccuracy accuracy;  // of the saved (bfloat16) weights
  double training_seconds = 0;
  int steps_run = 0;  // fewer than options.steps when the time budget ended training
  double first_loss = 0, last_loss = 0;  // mean over the first and last 50 steps
  int64_t parameters = 0;
  int64_t vocab_size = 0;
  std::string machine;  // where it was trained, in words
};

std::string ModelCardMarkdown(const ModelCardFacts& facts);

}  // namespace gp
