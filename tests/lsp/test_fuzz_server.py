"""Fuzz: the real server over stdio, fed stdlib files, random texts and malformed frames.

Bounded and deterministic (one seed, a fixed number of steps): after each burst the server
must still be alive and answer a hover correctly, and nothing may reach stderr as a traceback.
"""

from __future__ import annotations

import json
import random
import sysconfig
from pathlib import Path

from raw_server import RawServer, frame, message

SEED = 20261207
STDLIB_FILES = 120
RANDOM_TEXTS = 120
BAD_FRAMES = 100
CHECK = "import torch.nn as nn\n\nhead = nn.Linear(784, 100)\n"
REQUESTS = (
    "textDocument/hover",
    "textDocument/codeLens",
    "textDocument/codeAction",
    "textDocument/inlayHint",
    "textDocument/semanticTokens/full",
    "nnevolve/lineTypes",
)


def stdlib_sources(rng: random.Random) -> list[str]:
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    chosen = rng.sample(files, STDLIB_FILES)
    return [f.read_text(encoding="utf-8", errors="surrogateescape") for f in chosen]


def random_text(rng: random.Random) -> str:
    pieces = [
        "nn.Linear(3, 4)", "nn.Conv2d(1, 8, 3)", "F.relu(x)", "class N(nn.Module):\n",
        "    def forward(self, x):\n", "(", ")", "[", "]", "'", '"""', "\\", "\t", "\r\n",
        "\r", "\n", "\x00", "\ufeff", "\ud800", "é", "😀", "lambda:", "import torch.nn as nn\n",
        "    ", "=", "+", "-", ":", "#", "if x:", "else", "\x0c", "\u2028",
    ]
    return "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 400)))


def bad_frame(rng: random.Random) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": rng.randrange(1000), "method": "x"}).encode()
    choices = [
        lambda: b"Content-Length: %d\r\n\r\n" % rng.choice([10**12, 2**63, 10**20]) + body,
        lambda: b"Content-Length: %d\r\n\r\n" % max(0, len(body) - rng.randrange(1, 10)) + body,
        lambda: b"Content-Length: %d\r\n\r\n" % (len(body) + rng.randrange(1, 50)) + body,
        lambda: b"Content-Length: -3\r\n\r\n" + body,
        lambda: b"Content-Length: abc\r\n\r\n" + body,
        lambda: body,
        lambda: b"Content-Length: %d\n\n" % len(body) + body,
        lambda: frame(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))),
        lambda: frame(json.dumps(rng.choice([None, [], [1, 2], 3, "s", {"id": 1}])).encode()),
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))),
        lambda: frame(b"{" * rng.randrange(1, 100_000)),
    ]
    return rng.choice(choices)()


def requests_for(server: RawServer, uri: str, rng: random.Random, lines: int) -> None:
    """A few requests on `uri` at random positions (answers are read by the next check)."""
    for method in rng.sample(REQUESTS, 3):
        position = {"line": rng.randrange(max(lines, 1) + 2), "character": rng.randrange(120)}
        params: dict = {"textDocument": {"uri": uri}}
        if method in ("textDocument/hover",):
            params["position"] = position
        if method in ("textDocument/codeAction", "textDocument/inlayHint"):
            params["range"] = {"start": {"line": 0, "character": 0}, "end": position}
            params["context"] = {"diagnostics": []}
        server.send(message({"jsonrpc": "2.0", "id": f"fuzz-{rng.random()}", "method": method,
                             "params": params}))


def check(server: RawServer, number: int) -> None:
    uri = f"file:///fuzz/check{number}.py"
    server.open(uri, CHECK)
    hover = server.hover(uri, 2, 10, timeout=120)
    assert "Linear 784→100" in hover["result"]["contents"]["value"], hover
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def test_the_server_survives_a_deterministic_fuzz():
    rng = random.Random(SEED)
    texts = stdlib_sources(rng) + [random_text(rng) for _ in range(RANDOM_TEXTS)]
    rng.shuffle(texts)
    server = RawServer()
    try:
        server.initialize()
        for number, text in enumerate(texts):
            uri = f"file:///fuzz/doc{number}.py"
            server.open(uri, text)
            requests_for(server, uri, rng, text.count("\n"))
            if rng.random() < 0.3:  # an edit: the whole text replaced
                server.notify("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": 2},
                    "contentChanges": [{"text": random_text(rng)}],
                })
            if number % 4 == 3:
                for _ in range(BAD_FRAMES // 20):
                    server.send(bad_frame(rng))
                check(server, number)
            server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        check(server, len(texts))
        assert server.process.poll() is None
        def fuzz_answers() -> list[dict]:
            return [m for m in server.received if str(m.get("id", "")).startswith("fuzz-")]

        while len(fuzz_answers()) < 3 * len(texts):  # a large file's answers may come last
            server.wait_for(lambda m: str(m.get("id", "")).startswith("fuzz-"), timeout=120)
        answered = fuzz_answers()
        # every request got its answer (the internal error code is never among them)
        assert len(answered) == 3 * len(texts)
        assert not [m for m in answered if m.get("error", {}).get("code") == -32603]
        print(f"{len(texts)} documents, {len(answered)} requests answered")
    finally:
        status = server.stop()
    stderr = "".join(server.stderr)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert status == 0
