"""Memory habits of the hot paths: freed memory kept for the next batch, the collector held.

``reuse_freed_memory``: keep freed memory in the process instead of handing it back (glibc).

An ingest allocates and frees the same large blocks once per batch: the batch's lines,
dicts and JSON texts, the pickled work item (megabytes), the SQLite rows. With glibc's
defaults, blocks above a dynamic threshold come from ``mmap`` and go back with ``munmap``,
and the top of the heap is trimmed after each batch, so every batch faults its pages in
afresh: on a 300,000-row CSV ingest that was a million minor page faults and a quarter of
the processes' CPU time spent in the kernel. With the thresholds raised, the memory of one
batch serves the next; the peak (what bounded batches hold at once) is unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import platform
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

_done = False


def reuse_freed_memory() -> None:
    """Raise glibc's trim and mmap thresholds for this process (once; elsewhere a no-op)."""
    global _done
    if _done:
        return
    _done = True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 256 << 20)
    libc.mallopt(_M_TRIM_THRESHOLD, 512 << 20)
    libc.mallopt(_M_TOP_PAD, 64 << 20)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector for a block that builds many acyclic objects.

    Left on, the collector walks every container that is still alive again at each of its
    thresholds; where a step creates hundreds of thousands of them and none forms a cycle,
    that walk costs as much as the work. It is restored (if it was on) when the block ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
