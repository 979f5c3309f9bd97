// Name pools and per-graph draws.
#include "common/graph/node_names.h"

#include "absl/strings/str_cat.h"
#include "common/graph/random.h"

namespace gp {

absl::StatusOr<NameScheme> ParseNameScheme(const std::string& name) {
  if (name == "letters") return NameScheme::kLetters;
  if (name == "integers") return NameScheme::kIntegers;
  if (name == "words") return NameScheme::kWords;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown name scheme '", name, "' (letters, integers, words)"));
}

std::string NameSchemeName(NameScheme scheme) {
  switch (scheme) {
    case NameScheme::kLetters:
      return "letters";
    case NameScheme::kIntegers:
      return "integers";
    case NameScheme::kWords:
      return "words";
  }
  return "?";
}

const std::vector<std::string>& NamePool(NameScheme scheme) {
  static const std::vector<std::string> letters = [] {
    std::vector<std::string> out;
    for (char c = 'A'; c <= 'Z'; ++c) out.emplace_back(1, c);
    for (char a = 'A'; a <= 'Z'; ++a) {
      for (char b = 'A'; b <= 'Z'; ++b) out.push_back(std::string{a, b});
    }
    return out;
  }();
  static const std::vector<std::string> integers = [] {
    std::vector<std::string> out;
    for (int i = 0; i < 100; ++i) out.push_back(std::to_string(i));
    return out;
  }();
  // Short, common, lower-case English words: one token in most BPE vocabularies.
  static const std::vector<std::string> words = {
      "apple", "river", "stone", "cloud", "tiger", "piano", "lemon", "house", "chair", "table",
      "water", "bread", "horse", "mouse", "train", "plant", "light", "sound", "paper", "glass",
      "green", "black", "white", "north", "south", "money", "music", "night", "ocean", "field",
      "wheel", "storm", "snake", "eagle", "whale", "shark", "sheep", "goat",  "wolf",  "bear",
      "fox",   "owl",   "cat",   "dog",   "cow",   "pig",   "rat",   "bee",   "ant",   "fish",
      "bird",  "frog",  "duck",  "lion",  "moon",  "star",  "sun",   "rain",  "snow",  "wind",
      "fire",  "tree",  "leaf",  "rose",  "corn",  "rice",  "milk",  "salt",  "gold",  "iron",
      "coal",  "sand",  "rock",  "hill",  "lake",  "road",  "ship",  "boat",  "door",  "bell"};
  switch (scheme) {
    case NameScheme::kLetters:
      return letters;
    case NameScheme::kIntegers:
      return integers;
    case NameScheme::kWords:
      return words;
  }
  return letters;
}

absl::StatusOr<std::vector<std::string>> DrawNodeNames(NameScheme scheme, int count,
                                                       uint64_t seed) {
  const auto& pool = NamePool(scheme);
  if (count < 0 || static_cast<size_t>(count) > pool.size()) {
    return absl::InvalidArgumentError(absl::StrCat("name scheme ", NameSchemeName(scheme), " has ",
                                                   pool.size(), " names, ", count, " asked"));
  }
  // Letters and integers draw from the first max(count, 26) names so small graphs keep
  // single-character names; words draw from the whole pool.
  size_t range = pool.size();
  if (scheme == NameScheme::kLetters) range = std::max<size_t>(count, 26);
  if (scheme == NameScheme::kIntegers) range = std::max<size_t>(count, 10);
  std::vector<std::string> candidates(pool.begin(), pool.begin() + range);
  SeededRandom random(seed);
  random.Shuffle(&candidates);
  candidates.resize(count);
  return candidates;
}

}  // namespace gp
