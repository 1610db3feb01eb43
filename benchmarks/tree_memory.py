"""Peak memory of a process and its children, sampled from ``/proc/<pid>/smaps_rollup``.

Forked normalize workers share pages with their parent: summing RSS counts those pages once
per process, the parent's ``ru_maxrss`` misses the children. PSS (proportional set size)
splits every shared page between the processes that map it, so the sum of PSS over the tree
is what the tree holds. The sampler runs as a separate process (a thread in the measured
process would stop ``normalize_batches`` from forking) and is left out of the tree::

    with TreeMemory() as tree:
        ...                                     # work that may fork children
    print(tree.result["peak_pss_gib"])

``result``: peak_pss_gib (largest sum of PSS over this process and its descendants),
parent_pss_gib and children at that moment, peak_children, peak_rss_sum_gib (largest sum
of RSS, shared pages counted in every process), samples, and the sampler's own cpu_s
(added to the caller's RUSAGE_CHILDREN once it is reaped: subtract it from CPU figures).
"""

from __future__ import annotations

import json
import os
import resource
import select
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

KIB_PER_GIB = 2**20


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        # the command name (field 2) may hold spaces and parentheses: ppid follows the last ")"
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rollup(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in KiB; (0, 0) once it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def sample(root: int, interval: float) -> None:
    """Sampler body: sample until stdin closes, then print the peaks as JSON."""
    me = os.getpid()
    peak: dict[str, Any] = {"peak_pss_kib": 0, "parent_pss_kib": 0, "children": 0}
    peak_rss = peak_children = samples = 0
    while True:
        tree = _children_of()
        pids, stack = [], [root]
        while stack:
            pid = stack.pop()
            if pid == me:
                continue
            pids.append(pid)
            stack.extend(tree.get(pid, []))
        sizes = [_rollup(pid) for pid in pids]
        total_pss = sum(p for p, _ in sizes)
        samples += 1
        if total_pss > peak["peak_pss_kib"]:
            peak = {
                "peak_pss_kib": total_pss,
                "parent_pss_kib": sizes[0][0],
                "children": len(pids) - 1,
            }
        peak_rss = max(peak_rss, sum(r for _, r in sizes))
        peak_children = max(peak_children, len(pids) - 1)
        if select.select([sys.stdin], [], [], interval)[0]:
            break  # stdin readable: the caller closed it
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "peak_pss_gib": round(peak["peak_pss_kib"] / KIB_PER_GIB, 2),
                "parent_pss_gib": round(peak["parent_pss_kib"] / KIB_PER_GIB, 2),
                "children": peak["children"],
                "peak_children": peak_children,
                "peak_rss_sum_gib": round(peak_rss / KIB_PER_GIB, 2),
                "samples": samples,
                "cpu_s": round(own.ru_utime + own.ru_stime, 2),
            }
        )
    )


class TreeMemory:
    """Samples this process's tree from a separate process while the block runs.

    Every 0.5 s by default: reading smaps_rollup of a 2 GiB process walks its page tables
    (about 20 ms), and at 0.2 s the sampler took a tenth of a core from the measured run.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.result: dict[str, Any] = {}
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> TreeMemory:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, str(os.getpid()), str(self.interval)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._proc is None or self._proc.stdin is None:
            return
        self._proc.stdin.close()  # the sampler prints its peaks and exits
        out = self._proc.stdout.read() if self._proc.stdout is not None else ""
        self._proc.wait(timeout=60)
        self.result = json.loads(out) if out.strip() else {}


if __name__ == "__main__":
    sample(int(sys.argv[1]), float(sys.argv[2]))
