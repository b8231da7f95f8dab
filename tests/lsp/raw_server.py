"""A language server driven over raw stdio bytes, below any JSON-RPC client library.

For tests that send what no well-behaved client sends (malformed frames, fuzz) and check
that the server still answers.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

SERVER_COMMAND = [sys.executable, "-m", "nnevolve.lsp"]


def frame(body: bytes) -> bytes:
    """``body`` framed as LSP frames it."""
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def message(payload: dict[str, Any]) -> bytes:
    """A framed JSON-RPC message."""
    return frame(json.dumps(payload).encode())


class RawServer:
    """One server process; every message it writes is collected by a reader thread."""

    def __init__(
        self, command: list[str] | None = None, *, cwd: Path | None = None, env: dict | None = None
    ) -> None:
        self.process = subprocess.Popen(
            command or SERVER_COMMAND,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[str] = []
        self.received: list[dict[str, Any]] = []  # every message taken from the queue
        self._next_id = 0
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = None
            while (line := stdout.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if not line or length is None:
                return
            self.messages.put(json.loads(stdout.read(length)))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line.decode("utf-8", "replace"))

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send(message({"jsonrpc": "2.0", "method": method, "params": params}))

    def request(self, method: str, params: Any, timeout: float = 60.0) -> dict[str, Any]:
        """Send a request; its response (other messages meanwhile are dropped)."""
        self._next_id += 1
        request_id = f"r{self._next_id}"
        self.send(message({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m, timeout)

    def wait_for(self, matches: Any, timeout: float = 60.0) -> dict[str, Any]:
        """The next message for which ``matches(message)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise AssertionError(
                    f"no such message (exit status {self.process.poll()}); "
                    f"stderr: {''.join(self.stderr)[-2000:]}"
                )
            try:
                received = self.messages.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            self.received.append(received)
            if received.get("method") in ("workspace/configuration", "client/registerCapability"):
                self.send(message({"jsonrpc": "2.0", "id": received["id"], "result": None}))
            if matches(received):
                return received

    def initialize(self, options: Any = None) -> dict[str, Any]:
        params: dict[str, Any] = {"processId": None, "rootUri": None, "capabilities": {}}
        if options is not None:
            params["initializationOptions"] = options
        result = self.request("initialize", params)
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        document = {"uri": uri, "languageId": "python", "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": document})

    def hover(self, uri: str, line: int, character: int, timeout: float = 60.0) -> dict[str, Any]:
        position = {"line": line, "character": character}
        return self.request(
            "textDocument/hover", {"textDocument": {"uri": uri}, "position": position}, timeout
        )

    def stop(self) -> int:
        """Shut the server down as a client does; its exit status."""
        if self.process.poll() is None:
            try:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
                assert self.process.stdin is not None
                self.process.stdin.close()
                return self.process.wait(timeout=10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.process.kill()
        return self.process.wait()
