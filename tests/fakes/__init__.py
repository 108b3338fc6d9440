"""Local fakes of the services we call over the network: the boundary the tests replace."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer(ThreadingHTTPServer):
    request_queue_size = 1024  # a real server's listen backlog, not socketserver's 5
    daemon_threads = True


class FakeService:
    """A threaded HTTP server on a free local port, started and stopped by the test. Handlers
    that stall wait on `_stopping`, so stopping never waits for them."""

    def __init__(self) -> None:
        self._stopping = threading.Event()

    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = LocalServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
