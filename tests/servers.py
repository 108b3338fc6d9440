"""Our own web process, as a deploy runs it (daphne serving contactcenter.asgi), for tests that
need a real server: browser tests with WebSockets, a process killed mid-call."""

import signal
import socket
import subprocess
import sys
import time
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import requests
from twilio.request_validator import RequestValidator

from tests.telephony import AUTH_TOKEN, PUBLIC_BASE_URL

ROOT = Path(__file__).resolve().parents[1]


def deadline_poll(check, what: str, timeout: float = 30, log: Path | None = None):
    """Return check()'s first truthy value, polling until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.02)  # the poll interval, not a wait for something to happen
    raise AssertionError(f"timed out waiting for {what}" + (f":\n{log.read_text()}" if log else ""))


class Daphne:
    """`daphne contactcenter.asgi:application` on a free loopback port, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url, self.log = f"http://127.0.0.1:{port}", log
        with log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own command line)
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "contactcenter.asgi:application"],
                cwd=ROOT,
                env={**env, "PYTHONFAULTHANDLER": "1"},  # SIGABRT dumps every thread's stack (stop())
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline_poll(self._ready, f"daphne on {self.url}", timeout=60, log=log)

    def _ready(self) -> bool:
        assert self.process.poll() is None, f"daphne exited:\n{self.log.read_text()}"
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def post(self, path: str, params: dict[str, str]) -> ET.Element:
        """A webhook, signed as Twilio signs it: over the public URL, whichever process receives it."""
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}{path}", params)
        response = requests.post(
            f"{self.url}{path}", data=params, headers={"X-Twilio-Signature": signature}, timeout=15
        )
        assert response.status_code == 200, self.log.read_text()
        return ET.fromstring(response.content)

    def stop(self, sig: int = signal.SIGTERM, grace: float = 20) -> None:
        """Stop it as a deploy does (SIGTERM, or `sig`). One still running after `grace` seconds is
        aborted, its threads' stacks written to its log and shown as a warning (a slow shutdown is
        the finding, not the test's failure), and it never outlives the test holding connections."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            tail = self.log.read_text()[-6000:]
            warnings.warn(
                f"daphne on {self.url} was still running {grace:.0f} s after signal {sig}:\n{tail}", stacklevel=2
            )
