// `graphprobe tokenize`: UTF-8 text on stdin -> one JSON object with ids, tokens and byte
// offsets, exactly as Hugging Face tokenizers encodes it.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace gp {

int RunTokenizeCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out);

}  // namespace gp
