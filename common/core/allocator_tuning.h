// glibc malloc settings for a process that allocates and frees tensors of a few MB in a loop.
#pragma once

namespace gp {

// By default glibc serves every allocation above its mmap threshold (128 KiB, raised only as
// such blocks are freed) with a fresh mmap and gives freed memory at the top of a heap back to
// the kernel, so a probe's training loop, which allocates and frees the same activations every
// batch, takes a page fault for every 4 KiB it touches again. Fixing the mmap threshold at
// 32 MiB and trimming only above 1 GiB keeps those blocks in the heap for reuse: 1.5 million
// page faults became 41 thousand and probe training ~1.5x faster (docs/PERFORMANCE.md,
// bench/probe_bench --compare-threads). Blocks above 32 MiB are still mapped and unmapped.
// Does nothing when GLIBC_TUNABLES sets malloc tunables, so a user's own settings win.
// Call first thing in main, before any thread starts.
void TuneAllocatorForTensors();

}  // namespace gp
