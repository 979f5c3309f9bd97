// Element types of tensor files (safetensors names) without any dependency on libtorch.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace gp {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

// Bytes per element.
size_t DTypeSize(DType dtype);
// The safetensors name: "F32", "BF16", ...
std::string_view DTypeName(DType dtype);
// Parses a safetensors dtype name; nullopt for names this project does not read.
std::optional<DType> ParseDType(std::string_view name);

}  // namespace gp
