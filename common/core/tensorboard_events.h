// Scalars in TensorBoard's event-file format, so a run's curves open in TensorBoard
// (`tensorboard --logdir DIR`) without TensorFlow: a TFRecord file (each record: its length,
// the length's masked CRC-32C, the bytes, their masked CRC-32C) of serialized `tensorflow.Event`
// protos, the first naming the file version, each later one a `Summary` of simple values.
//
//   GP_ASSIGN_OR_RETURN(auto events, TensorBoardEvents::Create(job_dir + "/tensorboard"));
//   events.AddScalar("train/loss", 0.42, /*step=*/1);
//   GP_RETURN_IF_ERROR(events.Close());
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace gp {

// CRC-32C (Castagnoli), and TFRecord's masking of it.
uint32_t Crc32c(std::string_view bytes);
uint32_t MaskedCrc32c(std::string_view bytes);

class TensorBoardEvents {
 public:
  // Creates DIR (and parents) and DIR/events.out.tfevents.SECONDS.HOST with its version record.
  static absl::StatusOr<TensorBoardEvents> Create(const std::string& dir);
  TensorBoardEvents(TensorBoardEvents&& other) noexcept;
  TensorBoardEvents& operator=(TensorBoardEvents&&) = delete;
  ~TensorBoardEvents();  // closes, dropping any error (call Close to see it)

  void AddScalar(const std::string& tag, double value, int64_t step);
  absl::Status Close();  // flushes; InternalError naming the file when a write failed
  const std::string& path() const { return path_; }

 private:
  TensorBoardEvents(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  void WriteRecord(const std::string& event);

  std::FILE* file_;
  std::string path_;
  bool failed_ = false;
};

}  // namespace gp
