// safetensors files (https://github.com/huggingface/safetensors): a validated, mmap-backed
// reader, a reader for whole checkpoints (one file or shards through
// model.safetensors.index.json) and a writer for our own outputs. Torch-free on purpose:
// the bytes are handed out as views, and common/model turns them into tensors.
//
//   GP_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open("expected.safetensors"));
//   GP_ASSIGN_OR_RETURN(TensorView ids, file.Get("input_ids"));  // I64 [2, 24]
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/core/dtype.h"
#include "common/core/mapped_file.h"

namespace gp {

// Borrowed bytes of one tensor, row-major. Valid while the file it came from is alive.
struct TensorView {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;
};

using SafetensorsMetadata = std::map<std::string, std::string>;

class SafetensorsFile {
 public:
  // Maps and validates the whole header: 8-byte length inside the file, a JSON object,
  // known dtypes, dtype size x shape == byte span, spans inside the data and covering it
  // exactly, with no overlaps. Any violation is InvalidArgument naming the file and tensor.
  static absl::StatusOr<SafetensorsFile> Open(const std::string& path);

  bool Has(const std::string& name) const { return tensors_.count(name) > 0; }
  // NotFound naming the file when the tensor is absent.
  absl::StatusOr<TensorView> Get(const std::string& name) const;
  std::vector<std::string> names() const;
  const SafetensorsMetadata& metadata() const { return metadata_; }
  const std::string& path() const { return file_->path(); }

 private:
  SafetensorsFile(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {}
  std::shared_ptr<const MappedFile> file_;
  std::map<std::string, TensorView> tensors_;
  SafetensorsMetadata metadata_;
};

// The weights of a Hugging Face checkpoint directory: `model.safetensors`, or the shards
// listed in `model.safetensors.index.json` (each shard opened once).
class SafetensorsCheckpoint {
 public:
  static absl::StatusOr<SafetensorsCheckpoint> Open(const std::string& dir);

  bool Has(const std::string& name) const { return shard_of_.count(name) > 0; }
  // NotFound naming the checkpoint and the tensor when absent.
  absl::StatusOr<TensorView> Get(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, size_t> shard_of_;
};

// One tensor to write: name and borrowed bytes.
struct NamedTensorView {
  std::string name;
  TensorView view;
};

// Writes a safetensors file (header padded to 8 bytes, tensors in the given order). Writes a
// temporary file next to `path` and renames it, so a crash never leaves a half-written file
// under the final name. InvalidArgument for duplicate names or byte counts that don't match.
absl::Status WriteSafetensors(const std::string& path, const std::vector<NamedTensorView>& tensors,
                              const SafetensorsMetadata& metadata = {});

}  // namespace gp
