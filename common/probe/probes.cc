// Probe architectures.
#include "common/probe/probes.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "absl/strings/str_cat.h"

namespace gp {
namespace {

// A linear layer initialized as torch.nn.Linear (uniform +-1/sqrt(in)), seeded.
struct Linear {
  at::Tensor weight, bias;
  Linear() = default;
  Linear(int64_t in, int64_t out, at::Generator& gen) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    weight = at::empty({out, in}).uniform_(-bound, bound, gen).requires_grad_(true);
    bias = at::empty({out}).uniform_(-bound, bound, gen).requires_grad_(true);
  }
  at::Tensor operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }
};

// Inverted dropout with the caller's generator (at::dropout would draw from the global one).
at::Tensor Dropout(const at::Tensor& x, double p, at::Generator* rng) {
  if (rng == nullptr || p == 0) return x;
  const at::Tensor keep = at::empty_like(x).bernoulli_(1 - p, *rng);
  return x * keep / (1 - p);
}

struct Mlp {
  std::vector<Linear> layers;
  double dropout = 0;
  Mlp() = default;
  Mlp(int64_t in, int64_t hidden, int depth, int64_t out, double p, at::Generator& gen)
      : dropout(p) {
    int64_t width = in;
    for (int i = 0; i < depth; ++i) {
      layers.emplace_back(width, hidden, gen);
      width = hidden;
    }
    layers.emplace_back(width, out, gen);
  }
  at::Tensor operator()(at::Tensor x, at::Generator* rng) const {
    for (size_t i = 0; i + 1 < layers.size(); ++i)
      x = Dropout(at::relu(layers[i](x)), dropout, rng);
    return layers.back()(x);
  }
  void Collect(std::vector<at::Tensor>* out) const {
    for (const auto& l : layers) {
      out->push_back(l.weight);
      out->push_back(l.bias);
    }
  }
};

class PairMlpProbe : public Probe {
 public:
  PairMlpProbe(int64_t f, const ProbeOptions& o, at::Generator& gen)
      : mlp_(f, o.hidden, o.layers, 1, o.dropout, gen) {}
  at::Tensor Forward(const at::Tensor& features, const at::Tensor&,
                     at::Generator* rng) const override {
    return mlp_(features, rng);
  }
  std::vector<at::Tensor> Parameters() const override {
    std::vector<at::Tensor> out;
    mlp_.Collect(&out);
    return out;
  }

 private:
  Mlp mlp_;
};

class GraphMlpProbe : public Probe {
 public:
  GraphMlpProbe(int64_t n, int64_t f, const ProbeOptions& o, at::Generator& gen)
      : n_(n), mlp_(n * n * f, o.hidden, std::max(1, o.layers - 1), n * n, o.dropout, gen) {}
  at::Tensor Forward(const at::Tensor& features, const at::Tensor&,
                     at::Generator* rng) const override {
    const int64_t b = features.size(0);
    return mlp_(features.reshape({b, -1}), rng).view({b, n_, n_, 1});
  }
  std::vector<at::Tensor> Parameters() const override {
    std::vector<at::Tensor> out;
    mlp_.Collect(&out);
    return out;
  }

 private:
  int64_t n_;
  Mlp mlp_;
};

// Node inputs: a node's mean outgoing and incoming pair features. Edge weights: softplus of
// a linear map of both directions' features (never exactly zero, so gradients always reach
// them: the ln 2 stall came from weights clamped to zero). The decoder sees both node
// embeddings and the pair's own features.
class GcnProbe : public Probe {
 public:
  GcnProbe(int64_t f, const ProbeOptions& o, at::Generator& gen)
      : edge_weights_(o.gcn_edge_weights) {
    const int64_t h = std::min<int64_t>(o.hidden, 256);
    edge_ = Linear(2 * f, 1, gen);
    int64_t width = 2 * f;
    for (int i = 0; i < std::max(1, o.layers); ++i) {
      convs_.emplace_back(width, h, gen);
      width = h;
    }
    decoder_ = Mlp(2 * h + f, h, 1, 1, o.dropout, gen);
  }
  at::Tensor Forward(const at::Tensor& features, const at::Tensor& node_mask,
                     at::Generator* rng) const override {
    const at::Tensor mask = node_mask.to(at::kFloat);                    // [B, N]
    const at::Tensor pair_mask = mask.unsqueeze(2) * mask.unsqueeze(1);  // [B, N, N]
    const at::Tensor count = mask.sum(1, true).clamp_min(1).unsqueeze(2);
    const at::Tensor masked = features * pair_mask.unsqueeze(3);
    at::Tensor x = at::cat({masked.sum(2), masked.sum(1)}, -1) / count;  // [B, N, 2F]
    at::Tensor adjacency = pair_mask;
    if (edge_weights_) {
      const at::Tensor both = at::cat({features, features.transpose(1, 2)}, -1);
      adjacency = at::softplus(edge_(both)).squeeze(-1) * pair_mask;
    }
    adjacency = adjacency *
                (1 - at::eye(features.size(1)).unsqueeze(0));  // self-loops come from GcnNormalize
    const at::Tensor a = GcnNormalize(adjacency, /*add_self_loops=*/true, /*improved=*/false);
    for (const auto& conv : convs_)
      x = at::relu(GcnConv(a, x, conv.weight, conv.bias)) * mask.unsqueeze(2);
    const int64_t n = x.size(1);
    const at::Tensor hi = x.unsqueeze(2).expand({-1, -1, n, -1}),
                     hj = x.unsqueeze(1).expand({-1, n, -1, -1});
    return decoder_(at::cat({hi, hj, features}, -1), rng);
  }
  std::vector<at::Tensor> Parameters() const override {
    std::vector<at::Tensor> out = {edge_.weight, edge_.bias};
    for (const auto& c : convs_) {
      out.push_back(c.weight);
      out.push_back(c.bias);
    }
    decoder_.Collect(&out);
    return out;
  }

 private:
  bool edge_weights_;
  Linear edge_;
  std::vector<Linear> convs_;
  Mlp decoder_;
};

}  // namespace

at::Tensor GcnNormalize(const at::Tensor& adjacency, bool add_self_loops, bool improved,
                        bool weighted) {
  at::Tensor a = adjacency;
  if (add_self_loops) {
    // add_remaining_self_loops: nodes with a self-loop keep its weight, the others get the fill.
    const int64_t n = a.size(-1);
    const at::Tensor eye = at::eye(n, a.options()).expand_as(a);
    const at::Tensor diagonal = a.diagonal(0, -2, -1);
    const at::Tensor fill_value = at::full_like(diagonal, improved && weighted ? 2.0 : 1.0);
    const at::Tensor fill = weighted ? at::where(diagonal != 0, diagonal, fill_value) : fill_value;
    a = a * (1 - eye) + eye * fill.unsqueeze(-1);
  }
  const at::Tensor degree = a.sum(-1);  // weighted in-degree of each target
  const at::Tensor inv_sqrt = at::where(degree > 0, degree.rsqrt(), at::zeros_like(degree));
  return inv_sqrt.unsqueeze(-1) * a * inv_sqrt.unsqueeze(-2);
}

at::Tensor GcnConv(const at::Tensor& normalized_adjacency, const at::Tensor& x,
                   const at::Tensor& weight, const at::Tensor& bias) {
  return at::matmul(normalized_adjacency, at::linear(x, weight)) + bias;
}

absl::StatusOr<std::unique_ptr<Probe>> MakeProbe(const ProbeOptions& o, int64_t n, int64_t f,
                                                 uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  if (o.hidden < 1)
    return absl::InvalidArgumentError(absl::StrCat("hidden ", o.hidden, ": must be >= 1"));
  if (o.layers < 0)
    return absl::InvalidArgumentError(absl::StrCat("layers ", o.layers, ": must be >= 0"));
  if (o.dropout < 0 || o.dropout >= 1) {
    return absl::InvalidArgumentError(absl::StrCat("dropout ", o.dropout, ": must be in [0, 1)"));
  }
  if (o.kind == "pair-mlp") return std::unique_ptr<Probe>(new PairMlpProbe(f, o, gen));
  if (o.kind == "graph-mlp") return std::unique_ptr<Probe>(new GraphMlpProbe(n, f, o, gen));
  if (o.kind == "gcn") return std::unique_ptr<Probe>(new GcnProbe(f, o, gen));
  return absl::InvalidArgumentError(absl::StrCat(
      "probe '", o.kind, "': unknown (pair-mlp, graph-mlp, gcn, logreg-head, logreg-layer)"));
}

}  // namespace gp
