// `graphprobe cluster up | down`: a local cluster of separate service processes on loopback.
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunClusterCommand(std::vector<std::string> args);

}  // namespace gp
