"""Starting Singer plugins (taps, and later targets) as processes with their files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
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
