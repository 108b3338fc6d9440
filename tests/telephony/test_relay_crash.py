"""A web process is SIGKILLed in the middle of a call; another one takes the call back where it was.

Two real daphne processes, one after the other, share this test's PostgreSQL database. The call is
driven the way Twilio drives it: signed webhooks, and the ConversationRelay socket with a signed
handshake. Once identity is verified the first daphne is killed with the socket open; Twilio then
posts SessionStatus=failed to the <Connect action>, which the second daphne answers with a new
<Connect>. On the new socket the conversation goes on: identity is not asked again, the promise is
recorded, and the transcript holds every line once, in order.
"""

import asyncio
import json
import os
import signal
import xml.etree.ElementTree as ET
from decimal import Decimal

import aiohttp
import pytest
from django.db import connection
from twilio.request_validator import RequestValidator

from apps.calls.models import Call, TraceEvent, TranscriptEntry
from apps.promises.models import Promise
from tests.servers import Daphne, deadline_poll
from tests.telephony import AUTH_TOKEN, PUBLIC_BASE_URL

pytestmark = pytest.mark.postgres  # both web processes and this test must see one database

SID = "CA" + "f" * 32
RELAY = "wss://cc.example.com/ws/twilio/relay/"  # what Twilio connects to and signs: the public URL


class Relay:
    """One ConversationRelay socket, as Twilio drives it, from this synchronous test."""

    def __init__(self, loop: asyncio.AbstractEventLoop, daphne: Daphne, answer: ET.Element) -> None:
        """Connect as Twilio does to the <ConversationRelay> of a webhook's answer: its URL (with the
        session's token), signed over the public URL, sent to this process."""
        self.loop = loop
        relay = answer.find("Connect/ConversationRelay")
        url, call_id = relay.attrib["url"], relay.find("Parameter").attrib["value"]
        assert url.startswith(f"{RELAY}?token="), url
        self.http, self.ws = self._run(self._open(daphne.url.replace("http://", "ws://"), url, call_id))

    async def _open(self, origin: str, url: str, call_id: str):
        http = aiohttp.ClientSession()
        headers = {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, {})}
        ws = await http.ws_connect(origin + url.removeprefix("wss://cc.example.com"), headers=headers)
        setup = {"type": "setup", "callSid": SID, "callStatus": "IN-PROGRESS", "customParameters": {"call_id": call_id}}
        await ws.send_json(setup)
        return http, ws

    def _run(self, awaitable):
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, timeout=15))

    def say(self, words: str) -> str:
        """The caller speaks; returns the agent's reply."""
        self._run(self.ws.send_json({"type": "prompt", "voicePrompt": words, "lang": "en-US", "last": True}))
        tokens, last = [], False
        while not last:
            message = self._run(self.ws.receive_json())
            assert message["type"] == "text", message
            tokens.append(message["token"])
            last = message["last"]
        return "".join(tokens)

    def receive(self) -> dict:
        return self._run(self.ws.receive_json())

    def dropped(self) -> bool:
        """The server went away: the socket closes under us."""
        return self._run(self.ws.receive()).type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)

    def close(self) -> None:
        self._run(self.ws.close())
        self._run(self.http.close())


@pytest.fixture
def web_env():
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "contactcenter.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:{database['PORT']}"
            f"/{database['NAME']}"
        ),
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "",  # nothing reaches Twilio's REST API (a promise's text is skipped)
        "HUMAN_AGENT_NUMBER": "",
        "RELAY_RECONNECTS": "2",
        "OPENAI_API_KEY": "",  # the offline engine: deterministic replies
        "OPENAI_BASE_URL": "",
        "AGENT_CONVERSATIONS_PER_HOUR": "1000",  # a shared Redis remembers earlier runs' calls
    }


def test_a_web_process_killed_mid_call_is_replaced_and_the_call_goes_on(maria, web_env, tmp_path):
    loop = asyncio.new_event_loop()
    first = Daphne(web_env, tmp_path / "daphne-1.log")
    second = relay = None
    try:
        answer = first.post(
            "/twilio/voice/inbound/",
            {"CallSid": SID, "From": maria.phone, "To": "+14155550100", "CallStatus": "ringing"},
        )
        call_id = answer.find("Connect/ConversationRelay/Parameter").attrib["value"]
        relay = Relay(loop, first, answer)
        balance = relay.say("My zip code is 94607")
        assert balance.startswith("Your balance is one thousand two hundred fifty dollars")
        # The reply goes out before its turn is saved: kill only once what was said is stored.
        deadline_poll(lambda: TranscriptEntry.objects.filter(call_id=call_id).count() == 3, "the turn's save")

        first.stop(signal.SIGKILL)  # mid-call, the socket open: a crash, the OOM killer, a hard deploy
        assert relay.dropped()
        relay.close()
        second = Daphne(web_env, tmp_path / "daphne-2.log")
        action = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": SID,
            "CallStatus": "in-progress",
            "SessionId": "VX" + "1" * 32,
            "SessionStatus": "failed",
            "ErrorCode": "39001",
            "ErrorMessage": "WebSocket closed",
        }
        reconnect = second.post("/twilio/voice/relay-action/", action)
        rejoined = reconnect.find("Connect/ConversationRelay").attrib["welcomeGreeting"]
        assert reconnect.find("Connect/ConversationRelay/Parameter").attrib == {"name": "call_id", "value": call_id}

        relay = Relay(loop, second, reconnect)
        confirm = relay.say("I can pay 300 dollars on Friday")
        all_set = relay.say("Yes")
        goodbye = relay.say("No, that's all. Bye!")
        end = relay.receive()
        hang_up = second.post(
            "/twilio/voice/relay-action/",
            {**action, "SessionId": "VX" + "2" * 32, "SessionStatus": "ended", "HandoffData": end["handoffData"]},
        )
    finally:
        if relay is not None:
            relay.close()
        for daphne in (first, second):
            if daphne is not None:
                daphne.stop()
        loop.close()

    assert rejoined == "Sorry, we were cut off. Can you pay in full, or prefer a plan?"
    assert confirm.startswith("So that's three hundred dollars on Friday")
    assert all_set.startswith("You're all set, Maria: three hundred dollars on Friday")
    assert goodbye == "Thank you, Maria. Take care, goodbye."
    assert end["type"] == "end"
    assert json.loads(end["handoffData"]) == {"handoff": False, "reason": "closed", "call_id": int(call_id)}
    assert [child.tag for child in hang_up] == ["Hangup"]

    # Every line once, in order; identity asked once, before the crash, and never again.
    lines = list(TranscriptEntry.objects.filter(call_id=call_id).values_list("sequence", "speaker", "text"))
    assert [(sequence, speaker) for sequence, speaker, _ in lines] == [
        (0, "agent"),
        (1, "customer"),
        (2, "agent"),
        (3, "agent"),
        (4, "customer"),
        (5, "agent"),
        (6, "customer"),
        (7, "agent"),
        (8, "customer"),
        (9, "agent"),
    ]
    texts = [text for _, _, text in lines]
    assert texts[1:] == [
        "My zip code is 94607",
        balance,
        rejoined,
        "I can pay 300 dollars on Friday",
        confirm,
        "Yes",
        all_set,
        "No, that's all. Bye!",
        goodbye,
    ]
    assert [text for text in texts if "verify your identity" in text] == [texts[0]]

    call = Call.objects.get(pk=call_id)
    assert (call.relay_failures, call.handoff_reason, call.state["ended"]) == (1, "", True)
    assert [entry["name"] for entry in call.state["tool_log"]].count("verify_identity") == 1
    promise = Promise.objects.get(customer=maria)
    assert (promise.call_id, promise.amount, promise.due_date.weekday()) == (call.pk, Decimal("300.00"), 4)
    assert list(TraceEvent.objects.filter(call=call, name__startswith="relay_").values_list("name", flat=True)) == [
        "relay_reconnect"
    ]
