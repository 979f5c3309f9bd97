// Random directed graphs for probing: DAGs (Erdos-Renyi over a random topological order),
// random trees and forests, and directed Erdos-Renyi with cycles. Edges are parent -> child.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace gp {

struct Graph {
  int num_nodes = 0;
  // (parent, child), sorted: the canonical edge order.
  std::vector<std::pair<int, int>> edges;

  bool HasEdge(int parent, int child) const;
  std::vector<int> Parents(int node) const;   // ascending
  std::vector<int> Children(int node) const;  // ascending
};

enum class GeneratorKind { kDag, kTree, kForest, kDirectedErdosRenyi };

struct GeneratorOptions {
  GeneratorKind kind = GeneratorKind::kDag;
  int num_nodes = 7;
  // Edge probability for kDag and kDirectedErdosRenyi; when negative, derived from
  // expected_degree (mean number of parents plus children of a node).
  double edge_probability = -1;
  double expected_degree = 2.0;
  int num_trees = 2;  // kForest
};

inline constexpr int kMinNodes = 2;
inline constexpr int kMaxNodes = 64;

// "dag" | "tree" | "forest" | "er".
absl::StatusOr<GeneratorKind> ParseGeneratorKind(const std::string& name);
std::string GeneratorKindName(GeneratorKind kind);

// Deterministic in (options, seed). InvalidArgument for sizes outside [2, 64] or
// probabilities outside [0, 1].
absl::StatusOr<Graph> GenerateGraph(const GeneratorOptions& options, uint64_t seed);

}  // namespace gp
