"""Shutdown cancels the server's pending requests even while some of them finish."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from lsprotocol import types

from nnevolve.lsp.protocol import NnevolveProtocol
from nnevolve.lsp.server import create_server


class LeavingFuture:
    """A pending request whose cancel removes it from the table at once, as a request that a
    thread finishes at that moment does."""

    def __init__(self, table: dict[Any, Any], key: Any) -> None:
        self.table, self.key, self.cancelled = table, key, False

    def done(self) -> bool:
        return False

    def cancel(self) -> bool:
        self.cancelled = True
        self.table.pop(self.key, None)
        return True


def test_shutdown_cancels_pending_requests_that_leave_the_table_meanwhile() -> None:
    table: dict[Any, Any] = {}
    futures = [LeavingFuture(table, key) for key in ("a", "b", "current")]
    table.update({f.key: f for f in futures})
    protocol = SimpleNamespace(fm=SimpleNamespace(features={}), msg_id="current",
                               _request_futures=table, _shutdown=False)

    steps = NnevolveProtocol.lsp_shutdown(protocol)  # type: ignore[arg-type]
    assert list(steps) == []  # no user handler to hand on: it ends without an error

    assert protocol._shutdown
    assert [f.cancelled for f in futures] == [True, True, False]  # not the shutdown itself


def test_the_server_answers_shutdown_with_this_protocols_handler() -> None:
    server = create_server()
    handler = server.protocol.fm.builtin_features[types.SHUTDOWN]
    assert handler.__func__ is NnevolveProtocol.lsp_shutdown  # type: ignore[attr-defined]
