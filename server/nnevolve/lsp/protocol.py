"""The JSON-RPC protocol of the server: pygls' own, answering every request it cannot read,
and sending the JSON objects the server builds itself without re-walking them.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol, default_converter
from pygls.protocol.language_server import lsp_method

if TYPE_CHECKING:
    from cattrs import Converter

logger = logging.getLogger(__name__)


class JsonObject(dict):  # type: ignore[type-arg]
    """A JSON object of plain values, sent as it is.

    cattrs would otherwise rebuild every nested dict of a response before ``json.dumps``:
    over a second for the 8,000 items of a 20,000-line file.
    """


def converter() -> Converter:
    """pygls' converter, passing :class:`JsonObject` through untouched."""
    result = default_converter()
    result.register_unstructure_hook(JsonObject, lambda value: value)
    return result


class NnevolveProtocol(LanguageServerProtocol):
    """pygls' language-server protocol, with an error response for unreadable requests and a
    shutdown that cannot fail on requests finishing meanwhile.

    pygls drops a request whose params do not fit the LSP types (a negative position, a
    missing field) without answering it, so the client would wait for ever.
    """

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls' shutdown, cancelling the pending requests from a copy of their table: one that
        finishes meanwhile (a handler in a thread) leaves the table, and pygls' loop over the
        table itself then fails with "dictionary changed size during iteration" (pygls #606)."""
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Read one message; a request that cannot be read is answered with its error."""
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if (
                isinstance(data, dict)
                and "method" in data
                and isinstance(data.get("id"), (int, str))
            ):
                self._send_response(data["id"], None, error.to_response_error())
            raise  # pygls logs it and carries on with the next message
