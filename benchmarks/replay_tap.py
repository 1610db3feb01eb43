"""A trivial Singer tap for benchmarks: copies a recorded message file to stdout.

Usage: replay_tap.py --config CONFIG.json [--state ...] [--catalog ...]
CONFIG.json holds {"file": "/path/to/messages.jsonl"}. It does no work per record, so
what a benchmark measures is the hub, not the tap.
"""

from __future__ import annotations

import json
import shutil
import sys


def main() -> None:
    args = sys.argv[1:]
    if "--discover" in args:
        sys.stdout.write(json.dumps({"streams": []}))
        return
    with open(args[args.index("--config") + 1]) as handle:
        config = json.load(handle)
    with open(config["file"], "rb") as handle:
        shutil.copyfileobj(handle, sys.stdout.buffer, 1 << 20)


if __name__ == "__main__":
    main()
