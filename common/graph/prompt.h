// Graphs written as text: named notations (arrow "A -> B", "A to B", parents
// "Parents of B: A, C.", adjacency list "A: B, C", labelled edges "a = A, b = C. a -> B,
// b -> B"), an edge separator, an optional node
// header, preamble and question, over one ordering of the edge and node lists. Every mention
// of every node is recorded as a byte range of the prompt.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/graph/graph.h"

namespace gp {

// kLabels names each edge with a label ("a", "b", ..., "aa", ...) given in the edge list's
// order, first "label = parent" for every edge, then "label -> child" grouped by child in name
// order: the layout places a parent's and its child's mentions at unrelated distances, so only
// matching the labels tells which parent goes with which child (position alone reads nothing).
enum class Notation { kArrow, kTo, kParents, kAdjacency, kLabels };
enum class Separator { kComma, kNewline };

absl::StatusOr<Notation> ParseNotation(
    const std::string& name);  // arrow|to|parents|adjacency|labels
std::string NotationName(Notation notation);

struct PromptOptions {
  Notation notation = Notation::kArrow;
  // Between items: ", " (arrow, to, labels), " " (parents: items are sentences), "; "
  // (adjacency: items hold commas of their own); or a newline for all.
  Separator separator = Separator::kComma;
  bool node_header = false;  // "Nodes: A, B, C.\n" first, so isolated nodes are mentioned
  std::string preamble;      // a line before everything
  std::string question;      // a line after everything
  // kLabels only, for training (graph_corpus.h): each child followed by its parent,
  // "a -> B A", so a model learns to resolve the label where the child is mentioned. Probes
  // never see it: it would put the parent next to the child.
  bool label_parent_hints = false;
};

// The order in which one rendering lists edges (indices into Graph::edges) and nodes.
// Ordering 0 is canonical: both in ascending order.
struct Ordering {
  std::vector<int> edge_order;
  std::vector<int> node_order;
};

// `count` orderings of `graph`, the first canonical, the others shuffled from `seed`.
std::vector<Ordering> MakeOrderings(const Graph& graph, int count, uint64_t seed);

// The parents (or children) of `node`, in the order their edges appear in `ordering`: the order
// a prompt rendered with `ordering` lists them.
std::vector<int> Neighbors(const Graph& graph, const Ordering& ordering, int node, bool parents);

struct MentionSpan {
  uint32_t begin, end;  // bytes of the prompt
};

struct Prompt {
  std::string text;
  std::vector<std::vector<MentionSpan>> mentions;  // per node, in text order
  // With label_parent_hints: the hints (" A", the space included), in text order.
  std::vector<MentionSpan> parent_hints;
};

// InvalidArgument when `names` has the wrong count or the ordering is not a permutation.
absl::StatusOr<Prompt> RenderPrompt(const Graph& graph, const std::vector<std::string>& names,
                                    const PromptOptions& options, const Ordering& ordering);

}  // namespace gp
