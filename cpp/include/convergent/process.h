// Process-wide settings for a process whose main job is running a node: the `convergent node`
// command applies them at start. The library never applies them itself, because they change the
// whole process it is linked into; a program that embeds a node and holds large keys may call
// them too.
//
// Thread safety: call once, early, before other threads allocate.
#pragma once

namespace convergent {

// Makes the C allocator give memory back to the system when it is freed: blocks of 128 KiB and
// more get their own mappings, released at free, and free space at the top of a heap is returned
// above 128 KiB. glibc's default raises the first threshold to the largest block freed so far
// (up to 32 MiB), after which the transient buffers of a large key (its encoding, its frame
// pieces, a decoded copy) stay in the heaps of whichever threads freed them: measured with a
// 27 MB key, the resident memory of each node process grew 6-11x the state instead of 2.5x.
// A no-op where the C library is not glibc.
void ReturnFreedMemoryPromptly();

}  // namespace convergent
