"""Starting Singer plugins (taps, and later targets) as processes with their files."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crmhub.errors import TapFailedError, TapNotInstalledError


def resolve_executable(command: str | Sequence[str], *, what: str) -> list[str]:
    """The command as a list with its executable found: next to our Python first, then PATH."""
    parts = [command] if isinstance(command, str) else list(command)
    exe = parts[0]
    if os.sep in exe:
        found: str | None = exe if Path(exe).exists() else None
    else:
        beside = Path(sys.executable).parent / exe
        found = str(beside) if beside.exists() else shutil.which(exe)
    if not found:
        raise TapNotInstalledError(
            f"{what}: {exe!r} is not installed (not found next to crmhub or on PATH)",
            hint=f"install it (pip install {exe}) or give its full path in crmhub.yml",
        )
    return [found, *parts[1:]]


class PluginFiles:
    """A private temporary folder for a plugin's config, state and catalog (mode 0600)."""

    def __init__(self, parent: Path) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="plugin-", dir=parent))

    def write(self, name: str, data: Any) -> Path:
        """Write ``data`` as JSON, readable only by us (configs hold secrets)."""
        path = self.folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, default=str)
        return path

    def cleanup(self) -> None:
        """Remove the folder and its secrets."""
        shutil.rmtree(self.folder, ignore_errors=True)


class CatalogPipe:
    """A catalog for a tap that starts while its discovery still runs.

    The tap gets the path of a named pipe as its ``--catalog``; reading it blocks until
    :meth:`serve` has the catalog. Meanwhile the tap imports its libraries and opens its
    source (a Singer SDK tap spends about half a second importing; tap-spreadsheet also
    loads its first workbook then), side by side with the discovery process. Once the
    pipe is read, the path becomes a regular file with the same catalog, so a tap that
    opens it again reads it again. POSIX only (:meth:`supported`).
    """

    def __init__(self, folder: Path, name: str = "catalog.json") -> None:
        self.path = folder / name
        os.mkfifo(self.path, 0o600)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def supported() -> bool:
        """True where named pipes exist."""
        return hasattr(os, "mkfifo")

    def serve(self, catalog: dict[str, Any], tap: subprocess.Popen[bytes]) -> None:
        """Hand ``catalog`` to the tap when it opens the pipe (on a thread)."""
        data = json.dumps(catalog, default=str).encode("utf-8")
        self._thread = threading.Thread(
            target=self._serve, args=(data, tap), name="catalog-pipe", daemon=True
        )
        self._thread.start()

    def _serve(self, data: bytes, tap: subprocess.Popen[bytes]) -> None:
        delay = 0.001
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as exc:  # ENXIO: no reader has the pipe open yet
                if exc.errno != errno.ENXIO or tap.poll() is not None:
                    return
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, 0.05)
        try:
            # the regular file first: a tap that opens the path again reads the same
            self._replace_with_file(data)
            os.set_blocking(fd, True)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BrokenPipeError:
            pass  # the tap stopped reading; its exit code tells the rest
        finally:
            os.close(fd)

    def _replace_with_file(self, data: bytes) -> None:
        spare = self.path.with_name(self.path.name + ".file")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(spare, self.path)

    def close(self) -> None:
        """Stop serving (the tap has ended or is being stopped)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def tail(path: Path, lines: int = 8) -> str:
    """The last lines of a log file, for error messages."""
    try:
        data = path.read_bytes()[-8192:]
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace").strip().splitlines()
    return "\n".join(text[-lines:])


def discover(
    command: list[str],
    config_path: Path,
    log_path: Path,
    *,
    what: str,
    cwd: Path | None = None,
    timeout_s: float = 600,
) -> dict[str, Any]:
    """Run ``--discover`` and return the catalog."""
    with log_path.open("ab") as log:
        try:
            done = subprocess.run(  # noqa: S603 - the command comes from the project file
                [*command, "--config", str(config_path), "--discover"],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TapFailedError(
                f"{what}: discovery did not finish within {timeout_s:.0f} s",
                hint=f"see {log_path}",
            ) from None
    if done.returncode != 0:
        raise TapFailedError(
            f"{what}: discovery failed with exit code {done.returncode}:\n{tail(log_path)}",
            hint=f"full log: {log_path}",
        )
    try:
        catalog = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise TapFailedError(f"{what}: discovery did not print a JSON catalog ({exc})") from None
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise TapFailedError(f"{what}: discovery printed no catalog with a `streams` list")
    return catalog


def select_streams(catalog: dict[str, Any], wanted: set[str]) -> tuple[dict[str, Any], list[str]]:
    """Mark the wanted streams selected (all when ``wanted`` is empty); return the names."""
    chosen = []
    for entry in catalog["streams"]:
        name = entry.get("tap_stream_id") or entry.get("stream")
        selected = not wanted or name in wanted or entry.get("stream") in wanted
        metadata = entry.setdefault("metadata", [])
        top = next((m for m in metadata if not m.get("breadcrumb")), None)
        if top is None:
            top = {"breadcrumb": [], "metadata": {}}
            metadata.append(top)
        top.setdefault("metadata", {})["selected"] = selected
        entry["selected"] = selected  # legacy taps read this key
        if selected:
            chosen.append(name)
    return catalog, chosen
