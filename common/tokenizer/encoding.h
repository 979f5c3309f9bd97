// The result of tokenizing one text.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gp {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  // Half-open byte range [begin, end) of each token in the original UTF-8 text; (0, 0) for
  // tokens the post-processor inserted.
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
};

}  // namespace gp
