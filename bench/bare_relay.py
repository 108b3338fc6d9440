"""A bare ConversationRelay relay: the yardstick for bench/relay_turns.py's `--baseline`.

What the least anyone could build does per turn, and nothing more: a `websockets` server that
takes `setup`, and for each `prompt` sends the conversation so far to the model and relays its
streamed tokens back as `text` messages. No Django, no database, no signatures, no tools, no
guardrails, nothing saved. It reads the model's stream the same low-level way apps.agent.llm does
(the SDK's HTTP, auth and SSE, chunks as plain dicts), so what our relay adds on top of it is the
difference between the two figures.

    python bench/bare_relay.py --port 8790 --model-url http://127.0.0.1:8791/v1
"""

import argparse
import asyncio
import contextlib
import json

import openai
import websockets
from openai import AsyncStream

SYSTEM = "You are a contact-center agent. Be brief."


async def relay(client: openai.AsyncOpenAI, model: str, ws: websockets.ServerConnection) -> None:
    history: list[dict[str, str]] = [{"role": "system", "content": SYSTEM}]
    async for raw in ws:
        message = json.loads(raw)
        if message.get("type") != "prompt":
            continue  # setup, dtmf, interrupt: nothing to do for a bare relay
        history.append({"role": "user", "content": message["voicePrompt"]})
        response = await client.post(
            "/chat/completions",
            body={"model": model, "messages": history, "stream": True, "stream_options": {"include_usage": True}},
            cast_to=dict,
            stream=True,
            stream_cls=AsyncStream[dict],
        )
        said = []
        async for chunk in response:
            for choice in chunk.get("choices") or ():
                if content := (choice.get("delta") or {}).get("content"):
                    said.append(content)
                    await ws.send(json.dumps({"type": "text", "token": content, "last": False}))
        await ws.send(json.dumps({"type": "text", "token": "", "last": True}))
        history.append({"role": "assistant", "content": "".join(said)})


async def main(port: int, model_url: str, model: str) -> None:
    timeout = openai.Timeout(connect=3.0, read=10.0, write=3.0, pool=3.0)
    client = openai.AsyncOpenAI(api_key="bench", base_url=model_url, timeout=timeout, max_retries=0)

    async def handler(ws: websockets.ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await relay(client, model, ws)

    async with websockets.serve(handler, "127.0.0.1", port, backlog=1024):
        await asyncio.Future()  # until terminated


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-url", required=True)
    parser.add_argument("--model", default="bench-model")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.model_url, args.model))
