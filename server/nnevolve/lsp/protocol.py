"""The JSON-RPC protocol of the server: pygls' own, answering every request it cannot read,
and sending the JSON objects the server builds itself without re-walking them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol, default_converter

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
    """pygls' language-server protocol, with an error response for unreadable requests.

    pygls drops a request whose params do not fit the LSP types (a negative position, a
    missing field) without answering it, so the client would wait for ever.
    """

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
