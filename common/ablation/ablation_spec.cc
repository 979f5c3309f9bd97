// Ablation spec parsing (strict: unknown fields are errors, so a typo never silently runs
// the default) and grid expansion.
#include "common/ablation/ablation_spec.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/core/json_file.h"
#include "common/core/status.h"

namespace gp {
namespace {

using Json = nlohmann::json;

absl::Status FieldError(const std::string& source, const std::string& field,
                        const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": field '", field, "': ", problem));
}

// Reads a non-empty list field, converting each item with `parse`.
template <typename T>
absl::Status ReadList(const Json& json, const std::string& source, const std::string& field,
                      const std::function<absl::StatusOr<T>(const Json&)>& parse,
                      std::vector<T>* out) {
  if (!json.contains(field)) return absl::OkStatus();
  const Json& list = json[field];
  if (!list.is_array() || list.empty())
    return FieldError(source, field, "must be a non-empty list");
  out->clear();
  for (size_t i = 0; i < list.size(); ++i) {
    absl::StatusOr<T> value = parse(list[i]);
    if (!value.ok()) {
      return FieldError(source, absl::StrCat(field, "[", i, "]"),
                        std::string(value.status().message()));
    }
    out->push_back(*std::move(value));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AsString(const Json& j) {
  if (!j.is_string())
    return absl::InvalidArgumentError(absl::StrCat("expected a string, got ", j.dump()));
  return j.get<std::string>();
}

absl::StatusOr<int64_t> AsInt(const Json& j, int64_t min, int64_t max) {
  if (!j.is_number_integer() || j.get<int64_t>() < min || j.get<int64_t>() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an integer in [", min, ", ", max, "], got ", j.dump()));
  }
  return j.get<int64_t>();
}

absl::StatusOr<double> AsNumber(const Json& j, double min, double max) {
  if (!j.is_number() || j.get<double>() < min || j.get<double>() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a number in [", min, ", ", max, "], got ", j.dump()));
  }
  return j.get<double>();
}

absl::Status CheckKnownFields(const Json& json, const std::string& source,
                              const std::set<std::string>& known) {
  if (!json.is_object())
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  for (const auto& [key, value] : json.items()) {
    if (!known.count(key)) {
      return FieldError(source, key,
                        absl::StrCat("unknown (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AblationModel> ParseModel(const Json& j, const std::string& base_dir) {
  GP_RETURN_IF_ERROR(CheckKnownFields(j, "model", {"name", "path", "random_init", "init_seed"}));
  AblationModel model;
  if (!j.contains("path")) return absl::InvalidArgumentError("model: 'path' is required");
  GP_ASSIGN_OR_RETURN(model.path, AsString(j["path"]));
  if (!std::filesystem::path(model.path).is_absolute()) {
    model.path = (std::filesystem::path(base_dir) / model.path).lexically_normal().string();
  }
  if (j.contains("random_init")) {
    if (!j["random_init"].is_boolean())
      return absl::InvalidArgumentError("model: 'random_init' must be true or false");
    model.random_init = j["random_init"].get<bool>();
  }
  if (j.contains("init_seed")) {
    GP_ASSIGN_OR_RETURN(int64_t seed, AsInt(j["init_seed"], 0, INT64_MAX));
    model.init_seed = static_cast<uint64_t>(seed);
  }
  if (j.contains("name")) {
    GP_ASSIGN_OR_RETURN(model.name, AsString(j["name"]));
  } else {
    model.name = std::filesystem::path(model.path).filename().string() +
                 (model.random_init ? "-random" : "");
  }
  return model;
}

absl::Status ParseProbeTraining(const Json& j, const std::string& source, TrainOptions* o) {
  const std::string where = source + ": probe_training";
  GP_RETURN_IF_ERROR(
      CheckKnownFields(j, where,
                       {"task", "epochs", "hidden", "layers", "learning_rate", "batch_size",
                        "weight_decay", "patience", "positive_weight"}));
  const auto read_int = [&](const char* name, int min, int max, int* target) -> absl::Status {
    if (!j.contains(name)) return absl::OkStatus();
    absl::StatusOr<int64_t> v = AsInt(j[name], min, max);
    if (!v.ok()) return FieldError(where, name, std::string(v.status().message()));
    *target = static_cast<int>(*v);
    return absl::OkStatus();
  };
  const auto read_number = [&](const char* name, double min, double max,
                               double* target) -> absl::Status {
    if (!j.contains(name)) return absl::OkStatus();
    absl::StatusOr<double> v = AsNumber(j[name], min, max);
    if (!v.ok()) return FieldError(where, name, std::string(v.status().message()));
    *target = *v;
    return absl::OkStatus();
  };
  GP_RETURN_IF_ERROR(read_int("epochs", 1, kMaxProbeEpochs, &o->epochs));
  GP_RETURN_IF_ERROR(read_int("hidden", 1, kMaxProbeHidden, &o->probe.hidden));
  GP_RETURN_IF_ERROR(read_int("layers", 1, kMaxProbeLayers, &o->probe.layers));
  GP_RETURN_IF_ERROR(read_int("batch_size", 1, kMaxProbeBatchSize, &o->batch_size));
  GP_RETURN_IF_ERROR(read_int("patience", 0, kMaxProbeEpochs, &o->patience));
  GP_RETURN_IF_ERROR(read_number("learning_rate", 1e-9, 10, &o->learning_rate));
  GP_RETURN_IF_ERROR(read_number("weight_decay", 0, 10, &o->weight_decay));
  GP_RETURN_IF_ERROR(read_number("positive_weight", -1, 1e6, &o->positive_weight));
  if (j.contains("task")) {
    absl::StatusOr<std::string> name = AsString(j["task"]);
    absl::StatusOr<ProbeTask> task = name.ok() ? ParseProbeTask(*name) : name.status();
    if (!task.ok()) return FieldError(where, "task", std::string(task.status().message()));
    o->task = *task;
  }
  return absl::OkStatus();
}

template <typename Enum>
std::function<absl::StatusOr<Enum>(const Json&)> Named(
    absl::StatusOr<Enum> (*parse)(const std::string&)) {
  return [parse](const Json& j) -> absl::StatusOr<Enum> {
    GP_ASSIGN_OR_RETURN(std::string name, AsString(j));
    return parse(name);
  };
}

std::function<absl::StatusOr<int>(const Json&)> IntIn(int min, int max) {
  return [min, max](const Json& j) -> absl::StatusOr<int> {
    GP_ASSIGN_OR_RETURN(int64_t v, AsInt(j, min, max));
    return static_cast<int>(v);
  };
}

}  // namespace

absl::StatusOr<AblationSpec> ParseAblationSpec(const Json& json, const std::string& source,
                                               const std::string& base_dir) {
  GP_RETURN_IF_ERROR(CheckKnownFields(
      json, source,
      {"name", "models", "graph_sizes", "generators", "expected_degree", "notations", "node_header",
       "names", "feature_modes", "permutations", "probes", "seeds", "dataset_sizes", "controls",
       "probe_training", "extraction"}));
  AblationSpec spec;
  if (json.contains("name")) {
    absl::StatusOr<std::string> name = AsString(json["name"]);
    if (!name.ok()) return FieldError(source, "name", std::string(name.status().message()));
    spec.name = *name;
  }
  if (!json.contains("models")) return FieldError(source, "models", "required");
  GP_RETURN_IF_ERROR(ReadList<AblationModel>(
      json, source, "models", [&](const Json& j) { return ParseModel(j, base_dir); },
      &spec.models));
  std::set<std::string> model_names;
  for (const AblationModel& m : spec.models) {
    if (!model_names.insert(m.name).second) {
      return FieldError(source, "models", absl::StrCat("two models are named '", m.name, "'"));
    }
  }
  GP_RETURN_IF_ERROR(
      ReadList<int>(json, source, "graph_sizes", IntIn(kMinNodes, kMaxNodes), &spec.graph_sizes));
  GP_RETURN_IF_ERROR(ReadList<GeneratorKind>(json, source, "generators", Named(ParseGeneratorKind),
                                             &spec.generators));
  GP_RETURN_IF_ERROR(
      ReadList<Notation>(json, source, "notations", Named(ParseNotation), &spec.notations));
  GP_RETURN_IF_ERROR(
      ReadList<NameScheme>(json, source, "names", Named(ParseNameScheme), &spec.name_schemes));
  GP_RETURN_IF_ERROR(ReadList<FeatureOptions>(
      json, source, "feature_modes",
      [](const Json& j) -> absl::StatusOr<FeatureOptions> {
        GP_ASSIGN_OR_RETURN(std::string mode, AsString(j));
        return ParseFeatureMode(mode, FeatureOptions{});
      },
      &spec.feature_modes));
  // One forward pass feeds every mode of a family: the feature service takes at most
  // kMaxFeatureModesPerFamily, each once.
  if (spec.feature_modes.size() > static_cast<size_t>(kMaxFeatureModesPerFamily)) {
    return FieldError(source, "feature_modes",
                      absl::StrCat(spec.feature_modes.size(), " modes, over the limit of ",
                                   kMaxFeatureModesPerFamily));
  }
  for (size_t i = 0; i < spec.feature_modes.size(); ++i) {
    for (size_t k = 0; k < i; ++k) {
      if (FeatureModeName(spec.feature_modes[k]) == FeatureModeName(spec.feature_modes[i])) {
        return FieldError(
            source, absl::StrCat("feature_modes[", i, "]"),
            absl::StrCat("'", FeatureModeName(spec.feature_modes[i]), "' named twice"));
      }
    }
  }
  GP_RETURN_IF_ERROR(
      ReadList<int>(json, source, "permutations", IntIn(1, 1000), &spec.permutations));
  GP_RETURN_IF_ERROR(ReadList<std::string>(
      json, source, "probes",
      [](const Json& j) -> absl::StatusOr<std::string> {
        GP_ASSIGN_OR_RETURN(std::string kind, AsString(j));
        const std::vector<std::string>& kinds = ProbeKinds();
        if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
          return absl::InvalidArgumentError(
              absl::StrCat("unknown probe '", kind, "' (", absl::StrJoin(kinds, ", "), ")"));
        }
        return kind;
      },
      &spec.probes));
  GP_RETURN_IF_ERROR(ReadList<uint64_t>(
      json, source, "seeds",
      [](const Json& j) -> absl::StatusOr<uint64_t> {
        GP_ASSIGN_OR_RETURN(int64_t v, AsInt(j, 0, INT64_MAX));
        return static_cast<uint64_t>(v);
      },
      &spec.seeds));
  GP_RETURN_IF_ERROR(
      ReadList<int>(json, source, "dataset_sizes", IntIn(10, 10000000), &spec.dataset_sizes));
  if (json.contains("expected_degree")) {
    absl::StatusOr<double> v = AsNumber(json["expected_degree"], 0, kMaxNodes);
    if (!v.ok()) return FieldError(source, "expected_degree", std::string(v.status().message()));
    spec.expected_degree = *v;
  }
  if (json.contains("node_header")) {
    if (!json["node_header"].is_boolean())
      return FieldError(source, "node_header", "must be true or false");
    spec.node_header = json["node_header"].get<bool>();
  }
  if (json.contains("controls")) {
    const Json& c = json["controls"];
    GP_RETURN_IF_ERROR(CheckKnownFields(c, source + ": controls",
                                        {"control_task", "label_shuffle", "positional_baseline"}));
    for (const auto& [key, value] : c.items()) {
      if (!value.is_boolean())
        return FieldError(source, "controls." + key, "must be true or false");
    }
    spec.control_task = c.value("control_task", spec.control_task);
    spec.label_shuffle_control = c.value("label_shuffle", spec.label_shuffle_control);
    spec.positional_baseline_control =
        c.value("positional_baseline", spec.positional_baseline_control);
  }
  if (json.contains("probe_training")) {
    GP_RETURN_IF_ERROR(ParseProbeTraining(json["probe_training"], source, &spec.probe_training));
  }
  if (json.contains("extraction")) {
    const Json& e = json["extraction"];
    const std::string where = source + ": extraction";
    GP_RETURN_IF_ERROR(CheckKnownFields(e, where, {"batch_size", "dtype", "device"}));
    if (e.contains("batch_size")) {
      absl::StatusOr<int64_t> v = AsInt(e["batch_size"], 1, 4096);
      if (!v.ok()) return FieldError(where, "batch_size", std::string(v.status().message()));
      spec.extraction_batch_size = static_cast<int>(*v);
    }
    for (auto [key, target] : {std::pair<const char*, std::string*>{"dtype", &spec.dtype},
                               std::pair<const char*, std::string*>{"device", &spec.device}}) {
      if (!e.contains(key)) continue;
      absl::StatusOr<std::string> v = AsString(e[key]);
      if (!v.ok()) return FieldError(where, key, std::string(v.status().message()));
      *target = *v;
    }
    if (spec.dtype != "float32" && spec.dtype != "bfloat16") {
      return FieldError(where, "dtype",
                        absl::StrCat("'", spec.dtype, "': expected float32 or bfloat16"));
    }
    // Syntax only: whether a CUDA device exists is for the machine that extracts to say.
    int index = 0;
    if (spec.device != "cpu" && spec.device != "cuda" &&
        !(spec.device.rfind("cuda:", 0) == 0 && absl::SimpleAtoi(spec.device.substr(5), &index) &&
          index >= 0)) {
      return FieldError(where, "device",
                        absl::StrCat("'", spec.device, "': expected cpu, cuda or cuda:N"));
    }
  }
  const size_t cells = ExpandAblation(spec).size();
  if (cells > kMaxAblationCells) {
    return FieldError(source, "models",
                      absl::StrCat("the grid has ", cells, " cells, over the limit of ",
                                   kMaxAblationCells, "; split it into several ablations"));
  }
  return spec;
}

absl::StatusOr<AblationSpec> ReadAblationSpec(const std::string& path) {
  GP_ASSIGN_OR_RETURN(Json json, ReadJsonFile(path));
  const std::string base = std::filesystem::absolute(path).parent_path().string();
  return ParseAblationSpec(json, path, base);
}

AblationSpec DefaultAblationSpec(const std::string& toy_model_dir) {
  AblationSpec spec;
  spec.name = "graphprobe-default";
  spec.models = {{"graph-toy", toy_model_dir, false, 0},
                 {"graph-toy-random", toy_model_dir, true, 0}};
  // Three seeds (graphs, splits, probe initialization, controls) for intervals over seeds;
  // within about 15 minutes on 2 cores that leaves two sizes, three notations, two modes and
  // 4 orderings. The labels notation is the one whose layout gives nothing away (its
  // positional baseline is at chance), so it is what asks whether attention knows the graph;
  // argmax (consistently below raw and top-k) is left to specs that ask for it.
  spec.seeds = {1, 2, 3};
  spec.graph_sizes = {7, 10};
  spec.notations = {Notation::kArrow, Notation::kParents, Notation::kLabels};
  spec.permutations = {4};
  FeatureOptions topk;
  topk.mode = FeatureMode::kTopK;
  topk.top_k = 3;
  topk.drop_sink = true;
  spec.feature_modes = {FeatureOptions{}, topk};
  spec.probes = {"pair-mlp", "gcn", "logreg-head", "logreg-layer"};
  spec.dataset_sizes = {350};
  return spec;
}

Json AblationSpec::ToJson() const {
  Json models_json = Json::array();
  for (const AblationModel& m : models) {
    models_json.push_back({{"name", m.name},
                           {"path", m.path},
                           {"random_init", m.random_init},
                           {"init_seed", m.init_seed}});
  }
  const auto names = [](const auto& items, auto name_of) {
    Json out = Json::array();
    for (const auto& item : items) out.push_back(name_of(item));
    return out;
  };
  return {{"name", name},
          {"models", models_json},
          {"graph_sizes", graph_sizes},
          {"generators", names(generators, GeneratorKindName)},
          {"expected_degree", expected_degree},
          {"notations", names(notations, NotationName)},
          {"node_header", node_header},
          {"names", names(name_schemes, NameSchemeName)},
          {"feature_modes", names(feature_modes, FeatureModeName)},
          {"permutations", permutations},
          {"probes", probes},
          {"seeds", seeds},
          {"dataset_sizes", dataset_sizes},
          {"controls",
           {{"control_task", control_task},
            {"label_shuffle", label_shuffle_control},
            {"positional_baseline", positional_baseline_control}}},
          {"probe_training",
           {{"task", probe_training.task == ProbeTask::kUndirected ? "undirected" : "directed"},
            {"epochs", probe_training.epochs},
            {"hidden", probe_training.probe.hidden},
            {"layers", probe_training.probe.layers},
            {"learning_rate", probe_training.learning_rate},
            {"batch_size", probe_training.batch_size},
            {"weight_decay", probe_training.weight_decay},
            {"patience", probe_training.patience},
            {"positive_weight", probe_training.positive_weight}}},
          {"extraction",
           {{"batch_size", extraction_batch_size}, {"dtype", dtype}, {"device", device}}}};
}

std::vector<AblationCell> ExpandAblation(const AblationSpec& spec) {
  std::vector<AblationCell> cells;
  for (const AblationModel& model : spec.models)
    for (uint64_t seed : spec.seeds)
      for (int size : spec.graph_sizes)
        for (GeneratorKind generator : spec.generators)
          for (NameScheme names : spec.name_schemes)
            for (Notation notation : spec.notations)
              for (int graphs : spec.dataset_sizes)
                for (int perms : spec.permutations)
                  for (const FeatureOptions& mode : spec.feature_modes) {
                    DatasetSpec d;
                    d.model = model.path;
                    d.random_init = model.random_init;
                    d.init_seed = model.init_seed;
                    d.dtype = spec.dtype;
                    d.device = spec.device;
                    d.num_graphs = graphs;
                    d.generator.kind = generator;
                    d.generator.num_nodes = size;
                    d.generator.expected_degree = spec.expected_degree;
                    d.names = names;
                    d.prompt.notation = notation;
                    d.prompt.node_header = spec.node_header;
                    d.features = mode;
                    d.permutations = perms;
                    d.seed = seed;
                    d.batch_size = spec.extraction_batch_size;
                    const std::string dataset_id =
                        absl::StrCat(model.name, "/n", size, "-", GeneratorKindName(generator), "-",
                                     NameSchemeName(names), "-", NotationName(notation), "-g",
                                     graphs, "-p", perms, "-", FeatureModeName(mode), "-s", seed);
                    std::vector<std::pair<std::string, ProbeControl>> runs;
                    for (const std::string& probe : spec.probes)
                      runs.push_back({probe, ProbeControl::kNone});
                    if (spec.control_task) {
                      for (const std::string& probe : spec.probes)
                        runs.push_back({probe, ProbeControl::kControlTask});
                    }
                    if (spec.label_shuffle_control)
                      runs.push_back({spec.probes[0], ProbeControl::kLabelShuffle});
                    // Position alone does not depend on the feature mode: once per dataset family.
                    if (spec.positional_baseline_control && &mode == &spec.feature_modes[0]) {
                      runs.push_back({spec.probes[0], ProbeControl::kPositional});
                    }
                    for (const auto& [probe, control] : runs) {
                      AblationCell cell;
                      cell.dataset_id = dataset_id;
                      cell.model_name = model.name;
                      cell.dataset = d;
                      cell.probe = probe;
                      cell.control = control;
                      cell.training = spec.probe_training;
                      cell.training.probe.kind = probe;
                      cell.training.seed = seed;
                      cell.training.control = control;
                      cell.id = absl::StrCat(dataset_id, "/", probe,
                                             control == ProbeControl::kNone ? "" : "/",
                                             ProbeControlName(control));
                      cells.push_back(std::move(cell));
                    }
                  }
  return cells;
}

}  // namespace gp
