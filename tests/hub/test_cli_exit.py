"""The ``crmhub`` program ends without interpreter teardown, and loses nothing doing so."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

CRMHUB = str(Path(sys.executable).parent / "crmhub")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRMHUB, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def test_the_program_prints_everything_and_keeps_exit_codes(tmp_path: Path) -> None:
    doc = {"version": 1, "name": "t", "master": {"url": "sqlite:///master.db"}, "sources": {}}
    (tmp_path / "crmhub.yml").write_text(json.dumps(doc))
    done = _run("-p", str(tmp_path), "match", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["run_id"] == 1 and summary["records"] == 0
    runs = _run("-p", str(tmp_path), "runs", cwd=tmp_path)
    assert runs.returncode == 0 and "match" in runs.stdout, "the run was committed"
    missing = _run("-p", str(tmp_path / "nowhere"), "match", cwd=tmp_path)
    assert missing.returncode == 78 and "does not exist" in missing.stderr
    usage = _run("no-such-command", cwd=tmp_path)
    assert usage.returncode == 2 and "No such command" in usage.stderr


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    head = "import atexit, sys, threading, time\nfrom crmhub.cli import exit_now\n"
    code = head + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_exit_hooks_run_and_buffered_output_is_written(tmp_path: Path) -> None:
    done = _script(
        tmp_path,
        """
        atexit.register(lambda: open("hook", "w").write("ran"))
        sys.stdout.write("no newline, still buffered")
        exit_now(3)
        print("not reached")
        """,
    )
    assert done.returncode == 3
    assert done.stdout == "no newline, still buffered"
    assert (tmp_path / "hook").read_text() == "ran"


def test_a_running_thread_gets_the_usual_exit(tmp_path: Path) -> None:
    done = _script(
        tmp_path,
        """
        def work():
            time.sleep(0.3)
            open("thread", "w").write("done")
        threading.Thread(target=work).start()
        exit_now(0)
        print("returned")
        """,
    )
    assert done.returncode == 0 and done.stdout == "returned\n"
    assert (tmp_path / "thread").read_text() == "done", "Python waited for the thread"


def test_an_exit_message_gets_the_usual_exit(tmp_path: Path) -> None:
    done = _script(tmp_path, 'exit_now("a message")\nprint("returned")\n')
    assert done.returncode == 0 and done.stdout == "returned\n"
