// TFRecord framing and the few protobuf fields of tensorflow.Event / Summary it needs, encoded
// by hand (field numbers from tensorflow/core/util/event.proto and framework/summary.proto).
#include "common/core/tensorboard_events.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"

namespace gp {
namespace {

std::array<uint32_t, 256> Crc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    table[i] = crc;
  }
  return table;
}

void AppendVarint(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

template <typename T>
void AppendLittleEndian(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86 and arm64 are little-endian
  out->append(bytes, sizeof(T));
}

// A length-delimited field (wire type 2).
void AppendBytesField(std::string* out, int field, std::string_view bytes) {
  AppendVarint(out, static_cast<uint64_t>(field) << 3 | 2);
  AppendVarint(out, bytes.size());
  out->append(bytes);
}

// Event.wall_time (1, double), Event.step (2, int64).
std::string EventHeader(int64_t step) {
  std::string event;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  AppendVarint(&event, 1 << 3 | 1);
  AppendLittleEndian(&event, now);
  AppendVarint(&event, 2 << 3 | 0);
  AppendVarint(&event, static_cast<uint64_t>(step));
  return event;
}

}  // namespace

uint32_t Crc32c(std::string_view bytes) {
  static const std::array<uint32_t, 256> table = Crc32cTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t MaskedCrc32c(std::string_view bytes) {
  const uint32_t crc = Crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

absl::StatusOr<TensorBoardEvents> TensorBoardEvents::Create(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  const int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  const std::string path =
      (std::filesystem::path(dir) / absl::StrCat("events.out.tfevents.", seconds, ".", host))
          .string();
  std::FILE* file = std::fopen(path.c_str(), "wbe");
  if (file == nullptr) return absl::InternalError(absl::StrCat("cannot write ", path));
  TensorBoardEvents events(file, path);
  std::string version = EventHeader(0);
  AppendBytesField(&version, 3, "brain.Event:2");  // Event.file_version
  events.WriteRecord(version);
  return events;
}

TensorBoardEvents::TensorBoardEvents(TensorBoardEvents&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)),
      path_(std::move(other.path_)),
      failed_(other.failed_) {}

TensorBoardEvents::~TensorBoardEvents() { (void)Close(); }

void TensorBoardEvents::AddScalar(const std::string& tag, double value, int64_t step) {
  std::string summary_value;
  AppendBytesField(&summary_value, 1, tag);  // Summary.Value.tag
  AppendVarint(&summary_value, 2 << 3 | 5);  // Summary.Value.simple_value (float)
  AppendLittleEndian(&summary_value, static_cast<float>(value));
  std::string summary;
  AppendBytesField(&summary, 1, summary_value);  // Summary.value
  std::string event = EventHeader(step);
  AppendBytesField(&event, 5, summary);  // Event.summary
  WriteRecord(event);
}

void TensorBoardEvents::WriteRecord(const std::string& event) {
  if (file_ == nullptr) return;
  std::string header;
  AppendLittleEndian(&header, static_cast<uint64_t>(event.size()));
  std::string record = header;
  AppendLittleEndian(&record, MaskedCrc32c(header));
  record += event;
  AppendLittleEndian(&record, MaskedCrc32c(event));
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) failed_ = true;
}

absl::Status TensorBoardEvents::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  const bool closed = std::fclose(std::exchange(file_, nullptr)) == 0;
  if (failed_ || !closed) return absl::InternalError(absl::StrCat("cannot write ", path_));
  return absl::OkStatus();
}

}  // namespace gp
