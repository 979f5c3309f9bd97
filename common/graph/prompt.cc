// Prompt rendering with mention tracking.
#include "common/graph/prompt.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/graph/random.h"

namespace gp {
namespace {

// Appends text and node names, recording where each name lands.
class PromptWriter {
 public:
  explicit PromptWriter(const std::vector<std::string>& names) : names_(names), prompt_{} {
    prompt_.mentions.resize(names.size());
  }
  PromptWriter& Text(const std::string& s) {
    prompt_.text += s;
    return *this;
  }
  PromptWriter& Node(int node) {
    const auto begin = static_cast<uint32_t>(prompt_.text.size());
    prompt_.text += names_[node];
    prompt_.mentions[node].push_back({begin, static_cast<uint32_t>(prompt_.text.size())});
    return *this;
  }
  // " A" after a labelled child (PromptOptions::label_parent_hints), its span recorded as a
  // hint, not as a mention: the hint is a training target, not part of the graph's text.
  PromptWriter& ParentHint(int node) {
    const auto begin = static_cast<uint32_t>(prompt_.text.size());
    prompt_.text += " " + names_[node];
    prompt_.parent_hints.push_back({begin, static_cast<uint32_t>(prompt_.text.size())});
    return *this;
  }
  // "A, C" or `none` when empty.
  PromptWriter& NodeList(const std::vector<int>& nodes, const std::string& none) {
    if (nodes.empty()) return Text(none);
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i > 0) Text(", ");
      Node(nodes[i]);
    }
    return *this;
  }
  Prompt Take() { return std::move(prompt_); }

 private:
  const std::vector<std::string>& names_;
  Prompt prompt_;
};

// "a".."z", then "aa", "ab", ...: the label of the k-th edge of the list.
std::string EdgeLabel(size_t k) {
  if (k < 26) return std::string(1, static_cast<char>('a' + k));
  return EdgeLabel(k / 26 - 1) + static_cast<char>('a' + k % 26);
}

bool IsPermutation(std::vector<int> v, size_t n) {
  if (v.size() != n) return false;
  std::sort(v.begin(), v.end());
  for (size_t i = 0; i < n; ++i) {
    if (v[i] != static_cast<int>(i)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Notation> ParseNotation(const std::string& name) {
  if (name == "arrow") return Notation::kArrow;
  if (name == "to") return Notation::kTo;
  if (name == "parents") return Notation::kParents;
  if (name == "adjacency") return Notation::kAdjacency;
  if (name == "labels") return Notation::kLabels;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown notation '", name, "' (arrow, to, parents, adjacency, labels)"));
}

std::string NotationName(Notation notation) {
  switch (notation) {
    case Notation::kArrow:
      return "arrow";
    case Notation::kTo:
      return "to";
    case Notation::kParents:
      return "parents";
    case Notation::kAdjacency:
      return "adjacency";
    case Notation::kLabels:
      return "labels";
  }
  return "?";
}

std::vector<Ordering> MakeOrderings(const Graph& graph, int count, uint64_t seed) {
  std::vector<Ordering> out;
  for (int p = 0; p < count; ++p) {
    Ordering o;
    o.edge_order.resize(graph.edges.size());
    o.node_order.resize(graph.num_nodes);
    std::iota(o.edge_order.begin(), o.edge_order.end(), 0);
    std::iota(o.node_order.begin(), o.node_order.end(), 0);
    if (p > 0) {
      SeededRandom random = SeededRandom::Stream(seed, static_cast<uint64_t>(p));
      random.Shuffle(&o.edge_order);
      random.Shuffle(&o.node_order);
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<int> Neighbors(const Graph& graph, const Ordering& ordering, int node, bool parents) {
  std::vector<int> out;
  for (int e : ordering.edge_order) {
    const auto& [p, c] = graph.edges[e];
    if (parents && c == node) out.push_back(p);
    if (!parents && p == node) out.push_back(c);
  }
  return out;
}

absl::StatusOr<Prompt> RenderPrompt(const Graph& graph, const std::vector<std::string>& names,
                                    const PromptOptions& options, const Ordering& ordering) {
  if (static_cast<int>(names.size()) != graph.num_nodes) {
    return absl::InvalidArgumentError(
        absl::StrCat(names.size(), " names for ", graph.num_nodes, " nodes"));
  }
  if (!IsPermutation(ordering.edge_order, graph.edges.size()) ||
      !IsPermutation(ordering.node_order, graph.num_nodes)) {
    return absl::InvalidArgumentError(
        "ordering is not a permutation of the graph's edges and nodes");
  }
  const bool newline = options.separator == Separator::kNewline;
  PromptWriter w(names);
  if (!options.preamble.empty()) w.Text(options.preamble + "\n");
  if (options.node_header) {
    w.Text("Nodes: ").NodeList(ordering.node_order, "none").Text(".\n");
  }
  switch (options.notation) {
    case Notation::kArrow:
    case Notation::kTo: {
      const std::string link = options.notation == Notation::kArrow ? " -> " : " to ";
      for (size_t k = 0; k < ordering.edge_order.size(); ++k) {
        if (k > 0) w.Text(newline ? "\n" : ", ");
        const auto& [parent, child] = graph.edges[ordering.edge_order[k]];
        w.Node(parent).Text(link).Node(child);
      }
      break;
    }
    case Notation::kParents:
      for (size_t k = 0; k < ordering.node_order.size(); ++k) {
        if (k > 0) w.Text(newline ? "\n" : " ");
        const int node = ordering.node_order[k];
        w.Text("Parents of ")
            .Node(node)
            .Text(": ")
            .NodeList(Neighbors(graph, ordering, node, /*parents=*/true), "none")
            .Text(".");
      }
      break;
    case Notation::kAdjacency:
      for (size_t k = 0; k < ordering.node_order.size(); ++k) {
        if (k > 0) w.Text(newline ? "\n" : "; ");
        const int node = ordering.node_order[k];
        w.Node(node).Text(": ").NodeList(Neighbors(graph, ordering, node, /*parents=*/false),
                                         "none");
      }
      break;
    case Notation::kLabels: {
      const std::vector<int>& edges = ordering.edge_order;
      for (size_t k = 0; k < edges.size(); ++k) {
        if (k > 0) w.Text(newline ? "\n" : ", ");
        w.Text(EdgeLabel(k) + " = ").Node(graph.edges[edges[k]].first);
      }
      // The children's side: list positions sorted by child name, stably (a child's parents
      // keep the edge list's order, the order Neighbors reports).
      std::vector<size_t> by_child(edges.size());
      std::iota(by_child.begin(), by_child.end(), 0);
      std::stable_sort(by_child.begin(), by_child.end(), [&](size_t a, size_t b) {
        return names[graph.edges[edges[a]].second] < names[graph.edges[edges[b]].second];
      });
      for (size_t k = 0; k < by_child.size(); ++k) {
        w.Text(k > 0 ? (newline ? "\n" : ", ") : (newline ? "\n" : ". "));
        const auto& [parent, child] = graph.edges[edges[by_child[k]]];
        w.Text(EdgeLabel(by_child[k]) + " -> ").Node(child);
        if (options.label_parent_hints) w.ParentHint(parent);
      }
      break;
    }
  }
  if (!options.question.empty()) w.Text("\n" + options.question);
  return w.Take();
}

}  // namespace gp
