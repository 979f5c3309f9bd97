// `graphprobe submit | watch | results | list | cancel`: ablations on a coordinator.
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunSubmitCommand(std::vector<std::string> args);
int RunWatchCommand(std::vector<std::string> args);
int RunResultsCommand(std::vector<std::string> args);
int RunListCommand(std::vector<std::string> args);
int RunCancelCommand(std::vector<std::string> args);

}  // namespace gp
