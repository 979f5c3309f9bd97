// safetensors: header validation and views over an mmap, sharded checkpoints, and a writer.
#include "common/core/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "nlohmann/json.hpp"

namespace gp {
namespace {

// The reference implementation refuses headers over 100 MB; so do we, before allocating.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t ReadLittleEndianU64(const uint8_t* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

absl::Status HeaderError(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": safetensors header: ", what));
}

// Reads a JSON array of non-negative integers that must fit in int64.
bool ReadNonNegativeInts(const nlohmann::json& value, std::vector<uint64_t>* out) {
  if (!value.is_array()) return false;
  for (const auto& item : value) {
    if (!item.is_number_unsigned()) return false;
    out->push_back(item.get<uint64_t>());
  }
  return true;
}

struct Span {
  uint64_t begin, end;
  std::string name;
};

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  GP_ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
  SafetensorsFile file(mapped);
  const size_t size = mapped->size();
  if (size < 8) {
    return HeaderError(
        path, absl::StrCat("file is ", size, " bytes, shorter than the 8-byte header length"));
  }
  const uint64_t header_len = ReadLittleEndianU64(mapped->data());
  if (header_len > size - 8) {
    return HeaderError(
        path, absl::StrCat("header length ", header_len, " runs past the end of the ", size,
                           "-byte file (truncated?)"));
  }
  if (header_len > kMaxHeaderBytes) {
    return HeaderError(path, absl::StrCat("header length ", header_len, " exceeds 100 MB"));
  }
  const char* header_begin = reinterpret_cast<const char*>(mapped->data() + 8);
  nlohmann::json header = nlohmann::json::parse(header_begin, header_begin + header_len, nullptr,
                                                /*allow_exceptions=*/false);
  if (header.is_discarded()) return HeaderError(path, "not valid JSON");
  if (!header.is_object()) return HeaderError(path, "not a JSON object");

  const uint8_t* data = mapped->data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return HeaderError(path, "__metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return HeaderError(path, absl::StrCat("__metadata__.", key, " is not a string"));
        }
        file.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = absl::StrCat("tensor '", name, "'");
    if (!entry.is_object()) return HeaderError(path, where + " is not an object");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) {
      return HeaderError(path, where + ": missing or non-string 'dtype'");
    }
    const std::string dtype_name = entry["dtype"].get<std::string>();
    std::optional<DType> dtype = ParseDType(dtype_name);
    if (!dtype)
      return HeaderError(path, absl::StrCat(where, ": unsupported dtype '", dtype_name, "'"));
    std::vector<uint64_t> shape, offsets;
    if (!entry.contains("shape") || !ReadNonNegativeInts(entry["shape"], &shape)) {
      return HeaderError(path, where + ": 'shape' must be an array of non-negative integers");
    }
    if (!entry.contains("data_offsets") || !ReadNonNegativeInts(entry["data_offsets"], &offsets) ||
        offsets.size() != 2) {
      return HeaderError(path, where + ": 'data_offsets' must be [begin, end]");
    }
    if (offsets[0] > offsets[1]) {
      return HeaderError(
          path, absl::StrCat(where, ": data_offsets begin ", offsets[0], " > end ", offsets[1]));
    }
    if (offsets[1] > data_size) {
      return HeaderError(path, absl::StrCat(where, ": data_offsets end ", offsets[1],
                                            " is past the data section of ", data_size, " bytes"));
    }
    // Element count times element size, refusing anything that overflows 63 bits.
    uint64_t nbytes = DTypeSize(*dtype);
    TensorView view;
    view.dtype = *dtype;
    for (uint64_t d : shape) {
      if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return HeaderError(path, absl::StrCat(where, ": dimension ", d, " is too large"));
      }
      if (d != 0 && nbytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / d) {
        return HeaderError(path, absl::StrCat(where, ": shape overflows"));
      }
      nbytes *= d;
      view.shape.push_back(static_cast<int64_t>(d));
    }
    if (nbytes != offsets[1] - offsets[0]) {
      return HeaderError(
          path,
          absl::StrCat(where, ": dtype ", dtype_name, " x shape [", absl::StrJoin(shape, ","),
                       "] is ", nbytes, " bytes but data_offsets span ", offsets[1] - offsets[0]));
    }
    view.data = data + offsets[0];
    view.nbytes = nbytes;
    file.tensors_[name] = std::move(view);
    spans.push_back({offsets[0], offsets[1], name});
  }

  // Spans must tile the data section: no overlaps, no holes, nothing after the last tensor.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  uint64_t covered = 0;
  const Span* previous = nullptr;
  for (const Span& span : spans) {
    if (span.begin < covered) {
      return HeaderError(path, absl::StrCat("tensors '", previous->name, "' and '", span.name,
                                            "' overlap (bytes ", span.begin, "..", covered, ")"));
    }
    if (span.begin > covered) {
      return HeaderError(path, absl::StrCat("bytes ", covered, "..", span.begin,
                                            " of the data section belong to no tensor (before '",
                                            span.name, "')"));
    }
    covered = span.end;
    previous = &span;
  }
  if (covered != data_size) {
    return HeaderError(
        path, absl::StrCat("data section is ", data_size, " bytes but tensors cover ", covered));
  }
  return file;
}

absl::StatusOr<TensorView> SafetensorsFile::Get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(absl::StrCat(path(), ": no tensor named '", name, "'"));
  }
  return it->second;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, view] : tensors_) out.push_back(name);
  return out;
}

absl::StatusOr<SafetensorsCheckpoint> SafetensorsCheckpoint::Open(const std::string& dir) {
  SafetensorsCheckpoint checkpoint;
  checkpoint.dir_ = dir;
  const std::string index_path = dir + "/model.safetensors.index.json";
  std::ifstream probe(index_path);
  if (!probe.good()) {
    GP_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(dir + "/model.safetensors"));
    for (const auto& name : file.names()) checkpoint.shard_of_[name] = 0;
    checkpoint.shards_.push_back(std::move(file));
    return checkpoint;
  }
  GP_ASSIGN_OR_RETURN(nlohmann::json index, ReadJsonFile(index_path));
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": missing object 'weight_map'"));
  }
  std::map<std::string, size_t> shard_index;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": weight_map.", name, " is not a file name"));
    }
    const std::string shard_name = shard.get<std::string>();
    if (shard_name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          index_path, ": weight_map.", name, " names a file outside the checkpoint: ", shard_name));
    }
    auto [it, inserted] = shard_index.emplace(shard_name, checkpoint.shards_.size());
    if (inserted) {
      GP_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(dir + "/" + shard_name));
      checkpoint.shards_.push_back(std::move(file));
    }
    if (!checkpoint.shards_[it->second].Has(name)) {
      return absl::InvalidArgumentError(absl::StrCat(index_path, ": weight_map puts '", name,
                                                     "' in ", shard_name, ", which lacks it"));
    }
    checkpoint.shard_of_[name] = it->second;
  }
  return checkpoint;
}

absl::StatusOr<TensorView> SafetensorsCheckpoint::Get(const std::string& name) const {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) {
    return absl::NotFoundError(absl::StrCat(dir_, ": checkpoint has no weight '", name, "'"));
  }
  return shards_[it->second].Get(name);
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, shard] : shard_of_) out.push_back(name);
  return out;
}

absl::Status WriteSafetensors(const std::string& path, const std::vector<NamedTensorView>& tensors,
                              const SafetensorsMetadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, view] : tensors) {
    if (name == "__metadata__" || header.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": duplicate or reserved tensor name '", name, "'"));
    }
    uint64_t expected = DTypeSize(view.dtype) * static_cast<uint64_t>(view.numel());
    if (expected != view.nbytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": tensor '", name, "' has ", view.nbytes,
                       " bytes, its dtype and shape need ", expected));
    }
    header[name] = {{"dtype", std::string(DTypeName(view.dtype))},
                    {"shape", view.shape},
                    {"data_offsets", {offset, offset + view.nbytes}}};
    offset += view.nbytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // keeps tensor data 8-byte aligned

  const std::string tmp_path = path + ".tmp";
  std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
  if (!out)
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot write: ", std::strerror(errno)));
  uint8_t length[8];
  uint64_t n = header_text.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(length), 8);
  out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
  for (const auto& [name, view] : tensors) {
    out.write(reinterpret_cast<const char*>(view.data), static_cast<std::streamsize>(view.nbytes));
  }
  out.close();
  if (!out) {
    std::remove(tmp_path.c_str());
    return absl::ResourceExhaustedError(absl::StrCat(path, ": write failed (disk full?)"));
  }
  if (std::rename(tmp_path.c_str(), path.c_str()) != 0) {
    std::remove(tmp_path.c_str());
    return absl::InternalError(
        absl::StrCat(path, ": cannot rename from ", tmp_path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace gp
