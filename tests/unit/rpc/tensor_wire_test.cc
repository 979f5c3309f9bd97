// Tensors on the wire: chunking and reassembly, float32 exact, bfloat16 rounded, and every
// malformed sequence of chunks an error; status codes across the RPC boundary.
#include "common/rpc/tensor_wire.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "common/rpc/status.h"

namespace gp {
namespace {

namespace pb = graphprobe::v1;

std::vector<pb::TensorChunk> Chunks(const at::Tensor& t, pb::DType wire, size_t max_bytes) {
  std::vector<pb::TensorChunk> out;
  EXPECT_TRUE(SendTensorChunks("rows", t, wire, max_bytes, [&](pb::TensorChunk c) {
                out.push_back(std::move(c));
                return absl::OkStatus();
              }).ok());
  return out;
}

TEST(TensorWireTest, Float32RoundTripsExactlyInBoundedChunks) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor t = at::randn({3, 4, 5, 7}, gen);
  const auto chunks = Chunks(t, pb::DTYPE_F32, 100);
  EXPECT_EQ(chunks.size(), (t.numel() * 4 + 99) / 100);
  TensorAssembler assembler;
  for (const auto& c : chunks) {
    EXPECT_LE(c.data().size(), 100u);
    EXPECT_FALSE(assembler.complete());
    ASSERT_TRUE(assembler.Add(c).ok());
  }
  ASSERT_TRUE(assembler.complete());
  auto back = assembler.Take();
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(at::equal(*back, t));
}

TEST(TensorWireTest, Bfloat16HalvesTheBytesWithinRounding) {
  const at::Tensor t = at::linspace(0, 1, 1000).view({10, 100});
  const auto chunks = Chunks(t, pb::DTYPE_BF16, 1 << 20);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].total_bytes(), 2000u);
  TensorAssembler assembler;
  ASSERT_TRUE(assembler.Add(chunks[0]).ok());
  auto back = assembler.Take();
  ASSERT_TRUE(back.ok());
  EXPECT_LE((*back - t).abs().max().item<double>(), 1.0 / 256);
  EXPECT_GT((*back - t).abs().max().item<double>(), 0);
}

TEST(TensorWireTest, EmptyTensorsKeepTheirShape) {
  const auto chunks = Chunks(at::zeros({2, 3, 0, 9}), pb::DTYPE_F32, 64);
  ASSERT_EQ(chunks.size(), 1u);
  TensorAssembler assembler;
  ASSERT_TRUE(assembler.Add(chunks[0]).ok());
  auto back = assembler.Take();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->sizes(), (std::vector<int64_t>{2, 3, 0, 9}));
}

TEST(TensorWireTest, MalformedChunkSequencesAreErrors) {
  const auto chunks = Chunks(at::ones({4, 8}), pb::DTYPE_F32, 32);
  ASSERT_EQ(chunks.size(), 4u);
  {  // out of order
    TensorAssembler a;
    ASSERT_TRUE(a.Add(chunks[0]).ok());
    absl::Status s = a.Add(chunks[2]);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("expected offset 32"), std::string::npos) << s;
  }
  {  // another tensor's piece
    TensorAssembler a;
    ASSERT_TRUE(a.Add(chunks[0]).ok());
    pb::TensorChunk other = chunks[1];
    other.set_name("other");
    EXPECT_NE(a.Add(other).message().find("does not belong"), std::string::npos);
  }
  {  // a shape that does not match the byte count
    pb::TensorChunk lying = chunks[0];
    lying.set_total_bytes(7);
    TensorAssembler a;
    EXPECT_NE(a.Add(lying).message().find("does not match its shape"), std::string::npos);
  }
  {  // incomplete
    TensorAssembler a;
    ASSERT_TRUE(a.Add(chunks[0]).ok());
    auto taken = a.Take();
    ASSERT_FALSE(taken.ok());
    EXPECT_EQ(taken.status().code(), absl::StatusCode::kDataLoss);
  }
  {  // a dtype the wire does not carry
    pb::TensorChunk f16 = chunks[0];
    f16.set_dtype(pb::DTYPE_F16);
    TensorAssembler a;
    EXPECT_NE(a.Add(f16).message().find("DTYPE_F16"), std::string::npos);
  }
}

TEST(StatusMappingTest, CodesAndMessagesCrossTheBoundary) {
  const grpc::Status g = ToGrpcStatus(absl::ResourceExhaustedError("queue full"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(g.error_message(), "queue full");
  const absl::Status a = FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "no model"), "x");
  EXPECT_EQ(a.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a.message(), "x: no model");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace gp
