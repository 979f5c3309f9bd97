// `graphprobe attention`: run a checkpoint (or a random-weight model of its shape) on token
// ids from a safetensors file, write every layer's attention and print a per-head summary.
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunAttentionCommand(const std::vector<std::string>& args);

}  // namespace gp
