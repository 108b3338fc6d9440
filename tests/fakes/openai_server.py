"""A local OpenAI-compatible Chat Completions server: the LLM's network boundary in tests.

It streams scripted replies as Server-Sent Events exactly as OpenAI does (role chunk, content
deltas, tool-call deltas, finish, usage, [DONE]), answers non-streamed requests with one
chat.completion object, and records every request it gets.

    llm = FakeOpenAI().start()
    llm.script("primary", text="Your balance is $1,250.50.")
    llm.script("primary", tool_call=("lookup_account", {}))
    llm.script("primary", delay=5)          # too slow: the client times out
    llm.script("primary", status=500)       # an error response
"""

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes import FakeService


@dataclass
class Reply:
    text: str = ""
    tool_call: tuple[str, dict[str, Any]] | None = None
    delay: float = 0.0  # seconds before the response starts
    stall_after: int | None = None  # stream this many words, then send nothing more (until stopped)
    cut_after: int | None = None  # stream this many words, then drop the connection
    status: int = 200
    prompt_tokens: int = 420
    completion_tokens: int = 18


@dataclass
class Request:
    model: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def tool_choice(self) -> Any:
        return self.body.get("tool_choice")

    @property
    def tool_names(self) -> list[str]:
        return [tool["function"]["name"] for tool in self.body.get("tools", [])]

    @property
    def system(self) -> str:
        return self.body["messages"][0]["content"]


class FakeOpenAI(FakeService):
    def __init__(
        self, default: Reply | None = None, responder: Callable[[Request], Reply] | None = None, port: int = 0
    ) -> None:
        """`responder`: what a request gets once its model's script is used up, made from the
        request (tests/fakes/misbehaving_llm.py); else `default`. `port`: 0 for any free one."""
        super().__init__()
        self._responder = responder
        self.requests: list[Request] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._default = default or Reply(text="Sorry, could you say that again?")
        self._arrived = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                request = Request(body["model"], body, {k.lower(): v for k, v in self.headers.items()})
                with fake._arrived:
                    fake.requests.append(request)
                    fake._arrived.notify_all()
                reply = fake._next(request)
                if reply.delay and fake._stopping.wait(reply.delay):
                    self.close_connection = True
                    return
                if reply.status != 200:
                    payload = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if not body.get("stream"):
                    payload = json.dumps(fake._completion(body["model"], reply)).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                # Streamed in chunked encoding on a kept-alive connection, as OpenAI's servers do.
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for sent, chunk in enumerate(fake._chunks(body["model"], reply)):
                        if sent - 1 in (reply.stall_after, reply.cut_after):  # the role chunk, then words
                            if sent - 1 == reply.stall_after:
                                fake._stopping.wait()
                            self.close_connection = True
                            return
                        self._send_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                    self._send_chunk(b"data: [DONE]\n\n")
                    self._send_chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _send_chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

        self._listen(Handler, port)

    @property
    def url(self) -> str:
        return f"{self.origin}/v1"

    def script(self, model: str, **reply: Any) -> None:
        self._scripts[model].append(Reply(**reply))

    def answer_by_default(self, **reply: Any) -> None:
        """What every request gets once its model's script is used up (e.g. `delay=60`: it hangs)."""
        self._default = Reply(**reply)

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until `count` requests have arrived (True) or `timeout` seconds pass (False)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def requests_for(self, model: str) -> list[Request]:
        return [r for r in self.requests if r.model == model]

    def _next(self, request: Request) -> Reply:
        queue = self._scripts[request.model]
        if queue:
            return queue.popleft()
        return self._responder(request) if self._responder else self._default

    @staticmethod
    def _completion(model: str, reply: Reply) -> dict[str, Any]:
        """A whole (not streamed) answer: `text` is the message content."""
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }

    @staticmethod
    def _chunks(model: str, reply: Reply):
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        yield chunk({"role": "assistant", "content": ""})
        if reply.text:
            words = reply.text.split(" ")
            for i, word in enumerate(words):
                yield chunk({"content": word if i == len(words) - 1 else word + " "})
        if reply.tool_call:
            name, arguments = reply.tool_call
            encoded = json.dumps(arguments)
            half = len(encoded) // 2
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": f"call_{name}",
                            "type": "function",
                            "function": {"name": name, "arguments": encoded[:half]},
                        }
                    ]
                }
            )
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": encoded[half:]}}]})
        yield chunk({}, "tool_calls" if reply.tool_call else "stop")
        yield {
            **base,
            "choices": [],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }
