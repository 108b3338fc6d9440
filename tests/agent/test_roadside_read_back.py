"""Roadside reads the location and the problem back, and sends nobody before the caller's yes: the
workflow forces dispatch_technician only once they confirm, and the tool refuses before that. A no
asks again where they are; a correction is recorded and read back again."""

from apps.calls.models import TraceEvent, TraceKind
from apps.dispatch.models import Dispatch
from tests.factories import CustomerFactory

READ_BACK = "Let me confirm: I-880 near the Coliseum exit in Oakland, with a battery problem. Is that right?"
WHERE = "I'm on I-880 near the Coliseum exit in Oakland and my battery is dead"


def tool_calls(name: str) -> list[tuple[bool, dict]]:
    events = TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL, name=name).order_by("id")
    return [(event.ok, event.payload["result"]) for event in events]


def test_a_no_asks_again_where_and_the_new_place_is_read_back(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("Yes")
    assert c.say(WHERE) == READ_BACK
    assert c.say("No") == "Where are you right now? The road, the nearest exit or cross street, and the city, please."
    assert c.session.state.step == "collect_incident"
    assert c.say("The Safeway parking lot on Broadway in Oakland") == (
        "Let me confirm: The Safeway parking lot on Broadway in Oakland, with a battery problem. Is that right?"
    )
    assert not Dispatch.objects.exists()
    assert c.say("Yes, that's right") == (
        "Sam is on the way and should arrive in about twenty-seven minutes. Is there anything else I can help with?"
    )
    dispatch = Dispatch.objects.get()
    assert (dispatch.location_text, dispatch.severity) == ("The Safeway parking lot on Broadway in Oakland", "standard")


def test_a_correction_in_the_same_breath_is_recorded_and_read_back_again(maria, technicians, converse):
    c = converse(workflow="roadside", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("Yes")
    c.say(WHERE)
    assert c.say("No, I'm at the Safeway parking lot on Broadway in Oakland") == (
        "Let me confirm: the Safeway parking lot on Broadway in Oakland, with a battery problem. Is that right?"
    )
    assert c.session.state.step == "confirm_incident"
    assert [result["location"] for ok, result in tool_calls("capture_incident")] == [
        "I-880 near the Coliseum exit in Oakland",
        "the Safeway parking lot on Broadway in Oakland",
    ]
    assert not Dispatch.objects.exists()
    c.say("Yes")
    assert Dispatch.objects.get().location_text == "the Safeway parking lot on Broadway in Oakland"


def test_an_unclear_answer_to_the_read_back_sends_nobody(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("Yes")
    c.say(WHERE)
    assert c.say("Hmm, hold on") == READ_BACK
    assert (c.session.state.step, Dispatch.objects.count(), tool_calls("dispatch_technician")) == (
        "confirm_incident",
        0,
        [],
    )


def test_with_a_model_a_dispatch_before_the_yes_is_refused_and_the_yes_forces_it(
    maria, technicians, converse, fake_llm
):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    fake_llm.script("primary", text="Where are you, and what happened?")
    c.say("Yes")
    incident = {"location": "I-880 near the Coliseum exit in Oakland", "issue": "battery", "severity": "emergency"}
    fake_llm.script("primary", tool_call=("capture_incident", incident))
    fake_llm.script("primary", tool_call=("dispatch_technician", {}))  # the model skips the read-back
    fake_llm.script("primary", text=READ_BACK)
    assert c.say(WHERE) == READ_BACK
    assert tool_calls("dispatch_technician") == [
        (False, {"status": "refused", "reason": "read the location and the problem back and get a clear yes first"})
    ]
    assert not Dispatch.objects.exists()

    fake_llm.script("primary", tool_call=("dispatch_technician", {}))
    fake_llm.script("primary", text="Sam is on the way, arriving in about twenty-seven minutes. Anything else?")
    assert c.say("Yes") == "Sam is on the way, arriving in about twenty-seven minutes. Anything else?"
    forced = fake_llm.requests[-2]
    assert forced.tool_choice == {"type": "function", "function": {"name": "dispatch_technician"}}
    assert "REQUIRED NEXT ACTION: call dispatch_technician now." in forced.system
    assert Dispatch.objects.get().technician.name == "Sam Ortiz"
    assert c.session.state.step == "inform_eta"


def test_a_corrected_place_not_on_the_map_is_asked_for_again(converse, live_db):
    driver = CustomerFactory(name="Ana Ruiz", profile={"vehicle": {"make": "Honda", "model": "Fit"}})  # no address
    c = converse(workflow="roadside", channel="web_chat", direction="inbound", customer_id=driver.pk)
    c.say("Yes")
    c.say(WHERE)
    assert c.say("No, I'm at the corner of Elm and Oak") == (
        "I couldn't find that on the map. Which city are you in, or what's the nearest exit?"
    )
    assert c.session.state.step == "confirm_incident"
    assert [ok for ok, _ in tool_calls("capture_incident")] == [True, False]
    assert c.say("I'm at the Safeway parking lot on Broadway in Oakland") == (
        "Let me confirm: the Safeway parking lot on Broadway in Oakland, with a battery problem. Is that right?"
    )
    assert not Dispatch.objects.exists()
