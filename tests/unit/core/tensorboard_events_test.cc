// TensorBoard event files: CRC-32C against its published check value, and a file read back
// record by record (framing, both CRCs, the Event and Summary fields) by a decoder written here
// from the .proto field numbers.
#include "common/core/tensorboard_events.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace gp {
namespace {

namespace fs = std::filesystem;

TEST(Crc32cTest, MatchesTheCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the CRC-32C catalogue's check value
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(MaskedCrc32c(""), 0xA282EAD8u);
}

// Just enough protobuf to read an Event back.
struct Field {
  int number, wire;
  uint64_t varint = 0;
  std::string bytes;  // length-delimited or fixed-width payloads
};
uint64_t ReadVarint(const std::string& s, size_t* at) {
  uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(s.at((*at)++));
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
}
std::vector<Field> Fields(const std::string& message) {
  std::vector<Field> fields;
  for (size_t at = 0; at < message.size();) {
    const uint64_t key = ReadVarint(message, &at);
    Field f{static_cast<int>(key >> 3), static_cast<int>(key & 7)};
    if (f.wire == 0) f.varint = ReadVarint(message, &at);
    const size_t width = f.wire == 1   ? 8
                         : f.wire == 5 ? 4
                         : f.wire == 2 ? ReadVarint(message, &at)
                                       : 0;
    f.bytes = message.substr(at, width);
    at += width;
    fields.push_back(f);
  }
  return fields;
}

TEST(TensorBoardEventsTest, RecordsReadBackWithTheirCrcsAndFields) {
  const fs::path dir = fs::temp_directory_path() / ("gp_tb_" + std::to_string(getpid()));
  std::string path;
  {
    absl::StatusOr<TensorBoardEvents> events = TensorBoardEvents::Create((dir / "job").string());
    ASSERT_TRUE(events.ok()) << events.status();
    events->AddScalar("validation/f1", 0.75, 3);
    events->AddScalar("train/loss", 1.5, 4);
    path = events->path();
    ASSERT_TRUE(events->Close().ok());
  }
  EXPECT_EQ(fs::path(path).parent_path(), dir / "job");
  EXPECT_EQ(fs::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u);
  std::stringstream content;
  content << std::ifstream(path, std::ios::binary).rdbuf();
  const std::string file = content.str();

  std::vector<std::string> events;
  for (size_t at = 0; at < file.size();) {
    ASSERT_LE(at + 12, file.size());
    uint64_t length;
    uint32_t length_crc, data_crc;
    std::memcpy(&length, file.data() + at, 8);
    std::memcpy(&length_crc, file.data() + at + 8, 4);
    EXPECT_EQ(length_crc, MaskedCrc32c(file.substr(at, 8)));
    ASSERT_LE(at + 12 + length + 4, file.size());
    const std::string data = file.substr(at + 12, length);
    std::memcpy(&data_crc, file.data() + at + 12 + length, 4);
    EXPECT_EQ(data_crc, MaskedCrc32c(data));
    events.push_back(data);
    at += 12 + length + 4;
  }
  ASSERT_EQ(events.size(), 3u);
  const std::vector<Field> version = Fields(events[0]);
  ASSERT_EQ(version.size(), 3u);
  EXPECT_EQ(version[0].number, 1);  // wall_time
  EXPECT_EQ(version[2].number, 3);
  EXPECT_EQ(version[2].bytes, "brain.Event:2");

  const std::vector<std::pair<std::string, float>> expected = {{"validation/f1", 0.75f},
                                                               {"train/loss", 1.5f}};
  for (int e = 1; e <= 2; ++e) {
    const std::vector<Field> event = Fields(events[e]);
    ASSERT_EQ(event.size(), 3u);
    EXPECT_EQ(event[1].number, 2);  // step
    EXPECT_EQ(event[1].varint, static_cast<uint64_t>(e + 2));
    ASSERT_EQ(event[2].number, 5);  // summary
    const std::vector<Field> summary = Fields(event[2].bytes);
    ASSERT_EQ(summary.size(), 1u);
    const std::vector<Field> value = Fields(summary[0].bytes);
    ASSERT_EQ(value.size(), 2u);
    EXPECT_EQ(value[0].bytes, expected[e - 1].first);
    ASSERT_EQ(value[1].wire, 5);
    float simple_value;
    std::memcpy(&simple_value, value[1].bytes.data(), 4);
    EXPECT_EQ(simple_value, expected[e - 1].second);
  }
  fs::remove_all(dir);
}

TEST(TensorBoardEventsTest, AnUnwritableDirectoryIsAnErrorNamingIt) {
  const absl::StatusOr<TensorBoardEvents> events = TensorBoardEvents::Create("/proc/no/such/dir");
  ASSERT_FALSE(events.ok());
  EXPECT_NE(events.status().message().find("/proc/no/such/dir"), std::string::npos)
      << events.status();
}

}  // namespace
}  // namespace gp
