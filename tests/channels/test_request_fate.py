"""``channels/request_fate.never_left`` on real failures of real sockets: a refused connection
never left (a create may be sent again); no answer after the request was written may have reached
the network (a create is ``OutcomeUnknown``: never publish twice). The X, Mastodon and Bluesky
wire modules all decide with it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
import requests

from cm_toolkit.channels.bluesky.wire import sent_without_answer
from cm_toolkit.channels.mastodon.wire import map_error as mastodon_error
from cm_toolkit.channels.request_fate import never_left
from cm_toolkit.channels.x.wire import map_error as x_error
from cm_toolkit.errors import OutcomeUnknown, TransientError


@pytest.fixture
def refused() -> Iterator[str]:
    """A URL on a port bound but not listening: the connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/2/tweets"


def _server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A server that reads each request, then does ``answer`` with the connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(65536)
            held.append(connection)
            answer(connection)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/2/tweets"
    listener.close()
    for connection in held:
        connection.close()


@pytest.fixture
def silent() -> Iterator[str]:
    """The request is read, no answer ever comes."""
    yield from _server(lambda connection: None)


@pytest.fixture
def hung_up() -> Iterator[str]:
    """The request is read, then the connection is closed without an answer."""
    yield from _server(lambda connection: connection.close())


def _requests_failure(url: str) -> requests.RequestException:
    with pytest.raises(requests.RequestException) as caught:
        requests.post(url, json={"text": "Bonjour"}, timeout=(5, 0.2))
    return caught.value


def _httpx_failure(url: str) -> httpx.TransportError:
    with pytest.raises(httpx.TransportError) as caught:
        httpx.post(url, json={"text": "Bonjour"}, timeout=httpx.Timeout(5, read=0.2))
    return caught.value


def test_a_refused_connection_never_left(refused: str) -> None:
    for exc in (_requests_failure(refused), _httpx_failure(refused)):
        assert never_left(exc), repr(exc)
    assert isinstance(x_error(_requests_failure(refused), "x-mooc", "posting", creates=True),
                      TransientError)
    assert not sent_without_answer(_httpx_failure(refused))


@pytest.mark.parametrize("server", ["silent", "hung_up"])
def test_no_answer_after_sending_may_have_reached_the_network(
    server: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(server)
    sent = _requests_failure(url)
    assert not never_left(sent) and not never_left(_httpx_failure(url))
    assert isinstance(x_error(sent, "x-mooc", "posting", creates=True), OutcomeUnknown)
    assert sent_without_answer(_httpx_failure(url))


def test_mastodon_py_wraps_them_and_the_verdict_holds(refused: str, silent: str) -> None:
    from mastodon import Mastodon, MastodonNetworkError

    def failure(url: str) -> MastodonNetworkError:
        client = Mastodon(access_token="t", api_base_url=url.rsplit("/2/", 1)[0],
                          request_timeout=(5, 0.2), version_check_mode="none")
        with pytest.raises(MastodonNetworkError) as caught:
            client.status_post("Bonjour")
        return caught.value

    def mapped(exc: MastodonNetworkError) -> Exception:
        return mastodon_error(exc, "masto", "posting", creates=True, last=None)

    assert isinstance(mapped(failure(refused)), TransientError)
    assert isinstance(mapped(failure(silent)), OutcomeUnknown)
