"""A real ``langgraph dev`` server for the tests: started on 127.0.0.1 and a free port.

It fails (never skips) when the server cannot start: the server is a required part.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SERVER_APP = Path(__file__).parent / "server_app"
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevServer:
    """One ``langgraph dev`` process serving ``app_dir``; restartable on the same port."""

    def __init__(self, app_dir: Path, log: Path) -> None:
        self.app_dir, self.log_path = app_dir, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        langgraph = shutil.which("langgraph", path=str(Path(sys.executable).parent))
        if langgraph is None:
            pytest.fail(
                "`langgraph` (langgraph-cli[inmem]) is not installed next to this Python; "
                "install the test extra: pip install -e '.[test]'.",
                pytrace=False,
            )
        env = {
            **os.environ,
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("OPENAI_API_KEY", None)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    langgraph,
                    "dev",
                    "--no-browser",
                    "--no-reload",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--config",
                    "langgraph.json",
                ],
                cwd=self.app_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/ok", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.stop()
        pytest.fail(
            f"`langgraph dev` did not come up on {self.url} within {START_TIMEOUT_S:.0f} s; "
            f"its log:\n{self.log()[-4000:]}",
            pytrace=False,
        )

    def terminate(self, timeout: float = 60.0) -> float:
        """SIGTERM, then wait for the exit; returns how long the shutdown took."""
        assert self.proc is not None
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.monotonic() - start

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def serve_test_app(work: Path) -> Iterator[DevServer]:
    """The test app (tests/server_app) under ``langgraph dev``, from a copy in ``work``."""
    ignore = shutil.ignore_patterns("__pycache__", ".langgraph_api")
    shutil.copytree(SERVER_APP, work, dirs_exist_ok=True, ignore=ignore)
    server = DevServer(work, work / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One server for a test module."""
    with serve_test_app(tmp_path_factory.mktemp("server_app")) as server:
        yield server
