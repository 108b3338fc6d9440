"""Local fakes of the services we call over the network: the boundary the tests replace."""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer(ThreadingHTTPServer):
    request_queue_size = 1024  # a real server's listen backlog, not socketserver's 5
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client dropping a kept-alive connection is how clients end them, not an error.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class FakeService:
    """A threaded HTTP server on a free local port, started and stopped by the test. Handlers
    that stall wait on `_stopping`, so stopping never waits for them."""

    def __init__(self) -> None:
        self._stopping = threading.Event()

    def _listen(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self._server = LocalServer(("127.0.0.1", port), handler)
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
