// EmptyHostTensor: a plain contiguous CPU tensor whose large instances the kernel may back
// with transparent huge pages, as /proc/self/smaps says of the mapping that holds it.
#include "common/model/host_tensor.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace gp {
namespace {

// The kernel's THP mode: the bracketed word of "always [madvise] never".
std::string TransparentHugePageMode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(in, line);
  const auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos) return "";
  return line.substr(open + 1, close - open - 1);
}

// "THPeligible" of the mapping holding `address` in /proc/self/smaps; nullopt if not listed.
std::optional<int> HugePageEligible(const void* address) {
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= at && at < end;
    } else if (inside && line.rfind("THPeligible:", 0) == 0) {
      return std::stoi(line.substr(12));
    }
  }
  return std::nullopt;
}

// Sets GRAPHPROBE_HUGE_PAGES for one scope, restoring what was there.
class ScopedHugePagesSetting {
 public:
  explicit ScopedHugePagesSetting(const char* value) {
    if (const char* old = std::getenv(kName)) saved_ = old;
    value ? setenv(kName, value, 1) : unsetenv(kName);
  }
  ~ScopedHugePagesSetting() { saved_ ? setenv(kName, saved_->c_str(), 1) : unsetenv(kName); }

 private:
  static constexpr const char* kName = "GRAPHPROBE_HUGE_PAGES";
  std::optional<std::string> saved_;
};

// 64 MiB: above glibc's largest mmap threshold, so each tensor is a mapping of its own, and
// above the size from which EmptyHostTensor gives the hint.
constexpr int64_t kRows = 4096, kColumns = 4096;

TEST(HostTensorTest, IsAPlainContiguousCpuTensorThatHoldsItsValues) {
  const ScopedHugePagesSetting unset(nullptr);
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    at::Tensor tensor = EmptyHostTensor({kRows, kColumns}, dtype);
    EXPECT_EQ(tensor.sizes(), (std::vector<int64_t>{kRows, kColumns}));
    EXPECT_EQ(tensor.scalar_type(), dtype);
    EXPECT_TRUE(tensor.device().is_cpu());
    EXPECT_TRUE(tensor.is_contiguous());
    tensor.fill_(0.25);
    tensor[kRows - 1][kColumns - 1] = 7;
    EXPECT_EQ(tensor.eq(0.25).sum().item<int64_t>(), kRows * kColumns - 1);
    EXPECT_EQ(tensor[kRows - 1][kColumns - 1].item<float>(), 7);
  }
  // Small and empty ones too (below the hint's size).
  EXPECT_EQ(EmptyHostTensor({3}, at::kFloat).numel(), 3);
  EXPECT_EQ(EmptyHostTensor({0, 5}, at::kFloat).numel(), 0);
}

TEST(HostTensorTest, LargeTensorsAskForHugePagesUnlessTheEnvironmentSaysNot) {
  const std::string mode = TransparentHugePageMode();
  if (mode != "madvise" && mode != "always") {
    GTEST_SKIP() << "transparent huge pages are '" << mode << "' in this kernel";
  }
  if (!std::ifstream("/proc/self/smaps")) GTEST_SKIP() << "no /proc/self/smaps to read";
  {
    const ScopedHugePagesSetting unset(nullptr);
    EXPECT_TRUE(HostTensorHugePagesWanted());
    at::Tensor tensor = EmptyHostTensor({kRows, kColumns}, at::kFloat);
    const auto eligible = HugePageEligible(tensor.data_ptr<float>() + kRows * kColumns / 2);
    ASSERT_TRUE(eligible.has_value()) << "no THPeligible line in /proc/self/smaps";
    EXPECT_EQ(*eligible, 1);
  }
  for (const char* yes : {"1", "true", "on"}) {
    const ScopedHugePagesSetting on(yes);
    EXPECT_TRUE(HostTensorHugePagesWanted()) << yes;
  }
  for (const char* no : {"false", "off"}) {
    const ScopedHugePagesSetting off(no);
    EXPECT_FALSE(HostTensorHugePagesWanted()) << no;
  }
  const ScopedHugePagesSetting off("0");
  EXPECT_FALSE(HostTensorHugePagesWanted());
  if (mode == "always") GTEST_SKIP() << "with THP 'always' every mapping is eligible";
  at::Tensor tensor = EmptyHostTensor({kRows, kColumns}, at::kFloat);
  EXPECT_EQ(HugePageEligible(tensor.data_ptr<float>() + kRows * kColumns / 2), 0);
}

}  // namespace
}  // namespace gp
