"""A voice call a supervisor took over goes back to the agent: the console asks Twilio (its REST API,
faked at the network boundary) to move the call to `/twilio/voice/after-person/<id>/`, which answers
a new ConversationRelay session; the agent goes on from where it was, without greeting again or
asking again for what is known. The same route is the <Dial> action: when the person's leg ends,
the caller hears a goodbye, an apology when nobody answered, or the agent when the call was handed
back meanwhile. Every webhook is signed with Twilio's own validator."""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client

from apps.accounts.roles import SUPERVISORS
from apps.accounts.services import user_set_role
from apps.agent.supervision import BACK_ON_VOICE
from apps.calls.models import Call, TranscriptEntry
from apps.core.models import AuditEvent
from apps.twilio import twiml
from tests.factories import UserFactory
from tests.telephony import signed
from tests.telephony.test_relay import prompt, reply, setup_message, socket

HUMAN = "+14155550142"
OUR_NUMBER = "+14155550100"
NOTES = "She agreed to pay 300 dollars on Friday; confirm it with her."


@pytest.fixture(autouse=True)
def person_number(settings):
    settings.HUMAN_AGENT_NUMBER = HUMAN


def parse(response) -> ET.Element:
    assert (response.status_code, response["Content-Type"]) == (200, "text/xml")
    return ET.fromstring(response.content)


@pytest.fixture
def answered(fake_twilio, maria) -> tuple[Call, str]:
    """An inbound call Twilio knows (its REST API can move it), answered by our webhook: the call
    and the relay socket URL it was given."""
    sid = fake_twilio.add_call(to=OUR_NUMBER, from_=maria.phone, status="in-progress", direction="inbound")
    params = {"CallSid": sid, "From": maria.phone, "To": OUR_NUMBER, "CallStatus": "ringing"}
    relay = relay_of(parse(signed("/twilio/voice/inbound/", params)))
    return Call.objects.get(twilio_call_sid=sid), relay.attrib["url"]


def relay_of(xml: ET.Element) -> ET.Element:
    relay = xml.find("Connect/ConversationRelay")
    assert relay is not None, ET.tostring(xml)
    return relay


def after_person(call: Call, **params):
    """Twilio's request to the <Dial> action, or after its REST API moved the call there."""
    return signed(
        f"/twilio/voice/after-person/{call.pk}/",
        {"AccountSid": "AC" + "0" * 32, "CallSid": call.twilio_call_sid, "CallStatus": "in-progress", **params},
    )


def console(user) -> Client:
    desk = Client()
    desk.force_login(user)
    return desk


def supervise(desk: Client, call: Call, action: str, **form):
    return desk.post(f"/console/calls/{call.pk}/{action}/", form, headers={"HX-Request": "true"})


def lines(call: Call) -> list[tuple[str, str]]:
    return list(TranscriptEntry.objects.filter(call=call).order_by("sequence").values_list("speaker", "text"))


@pytest.fixture
def taken_over(answered, supervisor) -> Call:
    """The caller verified over the relay, then the supervisor took the call over: the relay ended
    with the hand-off, and Twilio was answered with a <Dial> to the person."""
    call, url = answered
    desk = console(supervisor)

    async def scenario():
        ws = socket(url)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(call.pk, call.twilio_call_sid)))
        await ws.send_to(text_data=prompt("My zip code is 94607"))
        said, _ = await reply(ws)
        await database_sync_to_async(supervise)(desk, call, "take-over")
        end = json.loads(await ws.receive_from(timeout=5))
        await ws.disconnect()
        return said, end

    said, end = async_to_sync(scenario)()
    assert said == (  # verified: the account is read out
        "Your balance is one thousand two hundred fifty dollars and fifty cents, forty-five days past due. "
        "Can you pay in full, or prefer a plan?"
    )
    assert end["type"] == "end"
    ended = {"SessionId": "VX" + "1" * 32, "SessionStatus": "ended", "HandoffData": end["handoffData"]}
    dial = parse(signed("/twilio/voice/relay-action/", {"CallSid": call.twilio_call_sid, **ended})).find("Dial")
    assert (dial.find("Number").text, dial.attrib["action"]) == (
        HUMAN,
        f"https://cc.example.com/twilio/voice/after-person/{call.pk}/",
    )
    call.refresh_from_db()
    assert (call.state["person"]["username"], call.state["ended"]) == ("sup", True)
    return call


def test_handing_a_voice_call_back_moves_it_to_a_new_relay_session_and_the_agent_goes_on(
    taken_over, supervisor, fake_twilio
):
    call = taken_over
    before = lines(call)

    panel = supervise(console(supervisor), call, "hand-back", notes=NOTES)

    assert panel.status_code == 200
    assert "Handed back: the caller is with the AI again." in panel.content.decode()
    [moved] = fake_twilio.updates
    assert moved.path.endswith(f"/Calls/{call.twilio_call_sid}.json")
    assert (moved.form["Url"], moved.form["Method"]) == (
        [f"https://cc.example.com/twilio/voice/after-person/{call.pk}/"],
        ["POST"],
    )
    call.refresh_from_db()
    assert (call.state["person"], call.state["ended"], call.state["handoff"]) == (None, False, None)
    assert call.state["guidance"][-1]["text"] == NOTES
    assert lines(call)[len(before) :] == [
        ("system", "sup handed the conversation back to the AI assistant."),
        ("agent", BACK_ON_VOICE),
    ]
    audit = AuditEvent.objects.get(action="call.hand_back", object_id=str(call.pk))
    assert (audit.actor.username, audit.details) == ("sup", {"notes": NOTES, "moved": True})

    # Twilio asks the URL it was moved to: a new relay session, the agent speaking first.
    relay = relay_of(parse(after_person(call)))
    assert relay.attrib["welcomeGreeting"] == BACK_ON_VOICE
    url = relay.attrib["url"]

    async def scenario():
        ws = socket(url)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(call.pk, call.twilio_call_sid)))
        await ws.send_to(text_data=prompt("I can pay 300 dollars this Friday."))
        said, _ = await reply(ws)
        await ws.disconnect()
        return said

    said = async_to_sync(scenario)()
    # Verified before the take-over: nothing asked again, no greeting; the amount confirmed back.
    assert re.fullmatch(r"So that's three hundred dollars on Friday, \w+ \w+\. Is that right\?", said), said
    assert lines(call)[-2:] == [("customer", "I can pay 300 dollars this Friday."), ("agent", said)]


def test_when_twilio_cannot_be_reached_the_caller_is_back_with_the_agent_once_the_person_hangs_up(
    taken_over, supervisor, fake_twilio, settings
):
    call = taken_over
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens there

    panel = supervise(console(supervisor), call, "hand-back", notes=NOTES)

    assert "Twilio could not be reached to move the call now" in panel.content.decode()
    call.refresh_from_db()
    assert (call.state["person"], call.state["ended"]) == (None, False)
    # The person hangs up: the <Dial> action puts the caller through to the agent.
    relay = relay_of(parse(after_person(call, DialCallStatus="completed", DialCallDuration="95")))
    assert relay.attrib["welcomeGreeting"] == BACK_ON_VOICE
    assert fake_twilio.updates == []


@pytest.mark.parametrize(
    ("dial_status", "said"),
    [("completed", twiml.GOODBYE), ("answered", twiml.GOODBYE), ("no-answer", twiml.NOBODY_FREE)],
)
def test_when_the_persons_leg_ends_without_a_hand_back_the_caller_hears_why_and_the_call_ends(
    taken_over, dial_status, said
):
    xml = parse(after_person(taken_over, DialCallStatus=dial_status))
    assert [(child.tag, child.text) for child in xml] == [("Say", said), ("Hangup", None)]


def test_a_caller_who_hung_up_gets_nothing_more(taken_over):
    xml = parse(after_person(taken_over, CallStatus="completed", DialCallStatus="completed"))
    assert list(xml) == []


def test_a_request_naming_another_call_hangs_up_and_changes_nothing(taken_over):
    state = taken_over.state
    response = signed(
        f"/twilio/voice/after-person/{taken_over.pk}/", {"CallSid": "CA" + "9" * 32, "CallStatus": "in-progress"}
    )
    assert [child.tag for child in parse(response)] == ["Hangup"]
    taken_over.refresh_from_db()
    assert taken_over.state == state


def test_an_unsigned_request_is_refused(taken_over):
    response = Client().post(f"/twilio/voice/after-person/{taken_over.pk}/", {"CallSid": taken_over.twilio_call_sid})
    assert response.status_code == 403


def test_only_the_person_who_took_the_call_hands_it_back_and_only_once(taken_over, supervisor, fake_twilio):
    call = taken_over
    other = _other_supervisor()
    refused = supervise(console(other), call, "hand-back", notes="not mine")
    assert "sup has this call; only they can hand it back." in refused.content.decode()
    assert fake_twilio.updates == []

    desk = console(supervisor)
    supervise(desk, call, "hand-back", notes=NOTES)
    again = supervise(desk, call, "hand-back", notes=NOTES)

    assert "The AI has this call; there is nothing to hand back." in again.content.decode()
    assert len(fake_twilio.updates) == 1
    assert AuditEvent.objects.filter(action="call.hand_back").count() == 1
    assert [text for speaker, text in lines(call) if speaker == "agent"].count(BACK_ON_VOICE) == 1


def test_a_manager_cannot_hand_a_call_back(taken_over, manager, fake_twilio):
    response = console(manager).post(f"/console/calls/{taken_over.pk}/hand-back/", {"notes": NOTES})
    assert response.status_code == 403
    assert fake_twilio.updates == []
    taken_over.refresh_from_db()
    assert taken_over.state["person"]["username"] == "sup"


def _other_supervisor():
    user = UserFactory(username="sup2")
    user_set_role(user=user, role=SUPERVISORS)
    return user
