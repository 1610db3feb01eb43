"""crmhub.heap: memory freed by one batch serves the next without new page faults (glibc)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the tuning applies to glibc's allocator only",
)

PROBE = """
import resource, sys
from crmhub.heap import reuse_freed_memory
if sys.argv[1] == "tuned":
    reuse_freed_memory()
def batch():
    block = b"x" * (32 << 20)  # a batch-sized buffer, written (so its pages are touched)
    del block
batch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    batch()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_freed_batch_memory_is_reused_instead_of_faulted_in_again() -> None:
    default, tuned = _faults("default"), _faults("tuned")
    pages = (32 << 20) // 4096
    assert default >= 4 * pages, f"glibc's default should fault each batch in: {default}"
    assert tuned < pages // 10, f"tuned: {tuned} minor faults over five 32 MiB batches"
