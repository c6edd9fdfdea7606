"""Start the real app (`streamlit run app.py`) on a free port, for browser tests and screenshots."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_app(env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[str]:
    """The app's URL while a Streamlit server runs it with `env` (KB_* settings), output to `log`."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.address", "127.0.0.1", "--server.port", str(port)]
    settings = {name: value for name, value in os.environ.items() if not name.startswith("KB_")}
    with open(log, "wb") as output:
        server = subprocess.Popen(command, cwd=REPO, env={**settings, **env}, stdout=output,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, log, timeout)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_until_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float) -> None:
    """Return once Streamlit answers its health check; fail with the log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1, trust_env=False).text == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer within {timeout:g} s:\n{log.read_text()}")
