// Large CPU tensors written once and kept, backed by transparent huge pages where the kernel
// allows.
#pragma once

#include <ATen/core/Tensor.h>

namespace gp {

// An uninitialized contiguous CPU tensor for random weights (RandomWeights), which are
// written once and then kept. A weight of billions of values written through 4 KiB pages takes
// a page fault for every page: 2.6 million for Gemma 2 2B in float32, which on a virtual
// machine cost more than drawing the values. Tensors that get a mapping of their own (32 MiB
// and more: glibc's mmap threshold, fixed there by TuneAllocatorForTensors) ask the kernel for
// transparent huge pages (madvise MADV_HUGEPAGE: 2 MiB pages, 512x fewer faults): random
// init of the 1-2B shapes 1.7-3.5x faster on this project's VMs (docs/PERFORMANCE.md,
// bench/random_init_bench). The copy out of a checkpoint does not use it: with the hint,
// loading a bfloat16 checkpoint measured 1.1-4.8x slower on the same machine.
// Where the kernel has THP off, or GRAPHPROBE_HUGE_PAGES=0 (or false, off) says not to (an
// escape hatch for a host where huge-page compaction stalls), it is a plain at::empty.
at::Tensor EmptyHostTensor(at::IntArrayRef shape, at::ScalarType dtype);

// Whether EmptyHostTensor asks for huge pages now (the environment, not the kernel's mode).
bool HostTensorHugePagesWanted();

}  // namespace gp
