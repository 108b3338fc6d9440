"""One call as Twilio makes it, end to end through the project's ASGI app: the signed inbound
webhook, the ConversationRelay socket (a turn the model answers with two tool calls, then a turn
asking for a person), the signed status callback that completes the call, and its analysis task
run as a worker would."""

import json
import xml.etree.ElementTree as ET

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from twilio.request_validator import RequestValidator

from apps.analysis.tasks import call_analyze_task
from contactcenter.asgi import application
from tests.telephony.test_relay import setup_message

TOKEN = "test-auth-token"
BASE = "https://cc.example.com"
SID = "CA" + "e" * 32

VERIFY = ("verify_identity", {"method": "zip", "value": "94607"})
LOOKUP = ("lookup_account", {})
BALANCE_REPLY = (
    "Thanks, Maria. Your balance is $1,250.50, 45 days past due. Would you like to pay in full or set up a plan?"
)
HANDOFF_REPLY = "I'll connect you with a specialist now. One moment, please."


def signed(path: str, params: dict[str, str]):
    """A webhook as Twilio sends it, signed with twilio's own validator."""
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}{path}", params)
    return Client().post(path, params, headers={"X-Twilio-Signature": signature})


def _prompt(text: str) -> str:
    return json.dumps({"type": "prompt", "voicePrompt": text, "lang": "en-US", "last": True})


async def _reply(ws: WebsocketCommunicator) -> str:
    tokens = []
    while True:
        message = json.loads(await ws.receive_from(timeout=5))
        if message["type"] == "text":
            tokens.append(message["token"])
            if message["last"]:
                return "".join(tokens)


def a_call(maria, fake_llm) -> int:
    """The call (see the module's docstring); returns its id. Two caller turns."""
    fake_llm.script("primary", tool_call=VERIFY)
    fake_llm.script("primary", tool_call=LOOKUP)
    fake_llm.script("primary", text=BALANCE_REPLY)
    inbound = {"CallSid": SID, "From": maria.phone, "To": "+14155550100", "CallStatus": "ringing"}
    response = signed("/twilio/voice/inbound/", inbound)
    assert response.status_code == 200
    relay = ET.fromstring(response.content).find("Connect/ConversationRelay")
    call_id = int(relay.find("Parameter[@name='call_id']").attrib["value"])
    url = relay.attrib["url"]

    async def talk() -> list[str]:
        ws = WebsocketCommunicator(
            application,
            url.removeprefix(BASE.replace("https", "wss")),
            headers=[(b"x-twilio-signature", RequestValidator(TOKEN).compute_signature(url, {}).encode())],
        )
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(call_id, SID)))
        await ws.send_to(text_data=_prompt("My zip code is 94607"))
        balance = await _reply(ws)
        await ws.send_to(text_data=_prompt("Let me talk to a representative"))
        handoff = await _reply(ws)
        assert json.loads(await ws.receive_from(timeout=5))["type"] == "end"
        await ws.disconnect()
        return [balance, handoff]

    assert async_to_sync(talk)() == [BALANCE_REPLY, HANDOFF_REPLY]
    completed = {"CallSid": SID, "CallStatus": "completed", "SequenceNumber": "3", "CallDuration": "95"}
    assert signed("/twilio/voice/status/", completed).status_code == 204
    call_analyze_task.apply(args=[call_id])  # as the worker runs it
    return call_id
