"""The child process of a big ingest: commits the work items its parent sends (writer.py).

Frames on stdin: first the settings, then pickled work items, then an empty frame (or end
of file) to stop. Frames on the original stdout: ("ready", None), ("done", what an item
did) per committed item, or ("error", exception) once, after which it exits.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import sys
import threading

from crmhub.heap import reuse_freed_memory
from crmhub.ingest.writer import portable, read_frame, write_frame, write_item
from crmhub.store import Master


def main() -> None:
    """Write items until told to stop; the parent reads the answers."""
    # The answers get a private copy of stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer

    def answer(kind: str, value: object) -> None:
        write_frame(answers, pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL))

    reuse_freed_memory()
    # Items are lists of strings: nothing for the collector to find while one is written.
    # It runs after each item instead, over what is newer than the start-up (freeze), to
    # free the cycles a database session leaves behind (they hold the batch's rows).
    gc.disable()
    frame = read_frame(requests)
    if not frame:
        return
    settings = pickle.loads(frame)  # noqa: S301 - sent by our own parent process
    try:
        master = Master(settings["url"], busy_timeout_s=settings["busy_timeout_s"])
    except BaseException as exc:
        answer("error", portable(exc))
        return
    gc.freeze()
    # A thread takes each item off the pipe as soon as it is sent: the pipe holds only 64 KiB,
    # so without it the parent would stay blocked in its send (not parsing the next batch)
    # until this process had finished writing the previous item. The parent sends at most
    # two items ahead, which bounds what waits here.
    received: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def receive() -> None:
        while True:
            frame = read_frame(requests)
            received.put(frame)
            if not frame:
                return

    threading.Thread(target=receive, name="crmhub-writer-receive", daemon=True).start()
    fresh: dict[str, bool] = {}  # see write_item
    try:
        answer("ready", None)
        while True:
            frame = received.get()
            if not frame:
                return  # stopped, or the parent is gone: what is committed is whole
            item = pickle.loads(frame)  # noqa: S301 - sent by our own parent process
            try:
                result = write_item(master, settings["source"], settings["run_id"], item, fresh)
            except BaseException as exc:
                answer("error", portable(exc))
                return
            del item
            gc.collect()
            answer("done", result)
    except BrokenPipeError:
        return  # the parent is gone
    finally:
        master.dispose()


if __name__ == "__main__":
    main()
