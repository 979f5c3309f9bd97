// Graph generators.
#include "common/graph/graph.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/graph/random.h"

namespace gp {

bool Graph::HasEdge(int parent, int child) const {
  return std::binary_search(edges.begin(), edges.end(), std::make_pair(parent, child));
}

std::vector<int> Graph::Parents(int node) const {
  std::vector<int> out;
  for (const auto& [p, c] : edges) {
    if (c == node) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> Graph::Children(int node) const {
  std::vector<int> out;
  for (const auto& [p, c] : edges) {
    if (p == node) out.push_back(c);
  }
  return out;
}

absl::StatusOr<GeneratorKind> ParseGeneratorKind(const std::string& name) {
  if (name == "dag") return GeneratorKind::kDag;
  if (name == "tree") return GeneratorKind::kTree;
  if (name == "forest") return GeneratorKind::kForest;
  if (name == "er") return GeneratorKind::kDirectedErdosRenyi;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown generator '", name, "' (dag, tree, forest, er)"));
}

std::string GeneratorKindName(GeneratorKind kind) {
  switch (kind) {
    case GeneratorKind::kDag:
      return "dag";
    case GeneratorKind::kTree:
      return "tree";
    case GeneratorKind::kForest:
      return "forest";
    case GeneratorKind::kDirectedErdosRenyi:
      return "er";
  }
  return "?";
}

absl::StatusOr<Graph> GenerateGraph(const GeneratorOptions& options, uint64_t seed) {
  const int n = options.num_nodes;
  if (n < kMinNodes || n > kMaxNodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("graph size ", n, " outside [", kMinNodes, ", ", kMaxNodes, "]"));
  }
  double p = options.edge_probability;
  if (p < 0) {
    // Named here, not as the edge probability it becomes; NaN fails too.
    if (!(options.expected_degree >= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected_degree ", options.expected_degree, ": expected >= 0"));
    }
    // Each node has n - 1 possible partners in a DAG; twice that for directed ER (either way).
    const double pairs =
        options.kind == GeneratorKind::kDirectedErdosRenyi ? 2.0 * (n - 1) : (n - 1);
    p = std::min(1.0, options.expected_degree / pairs);
  }
  if (!(p >= 0 && p <= 1))
    return absl::InvalidArgumentError(absl::StrCat("edge probability ", p, " outside [0, 1]"));
  SeededRandom random(seed);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  random.Shuffle(&order);  // a random topological order, so index carries no rank
  Graph g;
  g.num_nodes = n;
  switch (options.kind) {
    case GeneratorKind::kDag:
      for (int a = 0; a < n; ++a) {
        for (int b = a + 1; b < n; ++b) {
          if (random.Uniform() < p) g.edges.emplace_back(order[a], order[b]);
        }
      }
      break;
    case GeneratorKind::kTree:
    case GeneratorKind::kForest: {
      const int roots = options.kind == GeneratorKind::kTree ? 1 : options.num_trees;
      if (roots < 1 || roots > n) {
        return absl::InvalidArgumentError(
            absl::StrCat("forest of ", roots, " trees needs 1..", n, " roots"));
      }
      // Random recursive trees: each later node hangs under a uniformly chosen earlier one.
      for (int k = roots; k < n; ++k) g.edges.emplace_back(order[random.Below(k)], order[k]);
      break;
    }
    case GeneratorKind::kDirectedErdosRenyi:
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          if (i != j && random.Uniform() < p) g.edges.emplace_back(i, j);
        }
      }
      break;
  }
  std::sort(g.edges.begin(), g.edges.end());
  return g;
}

}  // namespace gp
