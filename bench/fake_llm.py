"""A fake OpenAI-compatible model in its own process, for benchmarks: its work is not ours.

It speaks the same protocol as the tests' fake (tests/fakes/openai_server.py), streamed or whole,
but on asyncio: a hundred concurrent streams cost it little. It also times itself: for each request
whose last user message carries a tag like "(ref abc)", the time from the request's arrival to
its first content token leaving, so a benchmark can subtract the model's own time to first token
(the set TTFT plus however late this process was) and keep only what is ours. With `hang_share`,
that share of requests is accepted and never answered (a flaky model).
"""

import asyncio
import json
import multiprocessing
import queue
import random
import re
import time

TAG = re.compile(r"\(ref ([a-z]+)\)")


def tag(number: int) -> str:
    """A tag for a prompt, in letters (digits in a caller's words mean things to the agent)."""
    return "(ref " + "".join(chr(ord("a") + int(d)) for d in str(number)) + ")"


def _serve(ttft_ms: int, text: str, hang_share: float, port, stop, results) -> None:
    from aiohttp import web

    from tests.fakes.openai_server import FakeOpenAI, Reply

    reply = Reply(text=text)
    timings: dict[str, float] = {}
    rng = random.Random(7)  # the same requests hang on every run

    async def completions(request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()  # CLOCK_MONOTONIC: comparable with the benchmark's clock
        body = await request.json()
        if hang_share and rng.random() < hang_share:
            # Accept the request and never answer, until the client gives up on it.
            # (aiohttp does not tell a handler that its client went away: it looks.)
            while request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            return web.Response(status=499)
        await asyncio.sleep(ttft_ms / 1000)
        if not body.get("stream"):  # a whole answer (post-call analysis): the TTFT is its latency
            return web.json_response(FakeOpenAI._completion(body["model"], reply))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for chunk in FakeOpenAI._chunks(body["model"], reply):
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if arrived and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                user = [m["content"] for m in body["messages"] if m["role"] == "user"]
                found = TAG.search(user[-1]) if user else None
                if found:
                    timings[found.group(1)] = (time.perf_counter() - arrived) * 1000
                arrived = 0.0
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", completions)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
        port.value = runner.addresses[0][1]
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await runner.cleanup()

    asyncio.run(main())
    results.put(timings)


class FakeModelProcess:
    """`with FakeModelProcess(ttft_ms=300) as url:` an OpenAI base URL answering after `ttft_ms`.

    `own_ttft_ms(prompt)`: the model's measured time to first token for a prompt made with `tag`.
    """

    def __init__(
        self,
        ttft_ms: int,
        text: str = "I can help with that. Could you tell me the last four digits of your account number?",
        hang_share: float = 0.0,
    ) -> None:
        spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, not a fork of this one
        self._port, self._stop, self._results = spawn.Value("i", 0), spawn.Event(), spawn.Queue()
        self._process = spawn.Process(
            target=_serve, args=(ttft_ms, text, hang_share, self._port, self._stop, self._results), daemon=True
        )
        self.timings: dict[str, float] = {}

    def __enter__(self) -> str:
        self._process.start()
        deadline = time.monotonic() + 60
        while not self._port.value:  # until the process listens (it sets the port)
            if not self._process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake model process did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self._port.value}/v1"

    def __exit__(self, *exc) -> None:
        self._stop.set()
        try:
            self.timings = self._results.get(timeout=30)  # before join: a full pipe would block its exit
        except queue.Empty:  # it died: no timings, and the benchmark says so
            self.timings = {}
        self._process.join(timeout=10)

    def own_ttft_ms(self, prompt: str) -> float | None:
        found = TAG.search(prompt)
        return self.timings.get(found.group(1)) if found else None
