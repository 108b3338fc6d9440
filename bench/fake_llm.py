"""A fake OpenAI-compatible model in its own process, for benchmarks: its work is not ours."""

import multiprocessing
import time


def _serve(ttft_ms: int, text: str, port, stop) -> None:
    from tests.fakes.openai_server import FakeOpenAI, Reply

    reply = Reply(text=text, delay=ttft_ms / 1000)
    fake = FakeOpenAI(default=reply).start()
    port.value = int(fake.url.split(":")[2].split("/")[0])
    stop.wait()
    fake.stop()


class FakeModelProcess:
    """`with FakeModelProcess(ttft_ms=300) as url:` an OpenAI base URL answering after `ttft_ms`."""

    def __init__(
        self,
        ttft_ms: int,
        text: str = "I can help with that. Could you tell me the last four digits of your account number?",
    ) -> None:
        spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, not a fork of this one
        self._port, self._stop = spawn.Value("i", 0), spawn.Event()
        self._process = spawn.Process(target=_serve, args=(ttft_ms, text, self._port, self._stop), daemon=True)

    def __enter__(self) -> str:
        self._process.start()
        while not self._port.value:
            time.sleep(0.01)  # waiting for the process to listen
        return f"http://127.0.0.1:{self._port.value}/v1"

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._process.join(timeout=10)
