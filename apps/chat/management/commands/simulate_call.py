import getpass
import statistics
from collections import Counter
from pathlib import Path

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apps.agent.engine import AgentSession, Ended, Handoff, ReplyEnd
from apps.agent.workflows import WORKFLOWS
from apps.calls.models import Call, TraceKind
from apps.chat.lifecycle import conversation_ports
from apps.core.services import Person
from apps.customers.models import Customer


def _os_user() -> str:
    """Who runs the command, as the system knows them (containers may have no name for the uid)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown user"


def read_script(path: Path) -> list[str]:
    """One caller utterance per line; blank lines and lines starting with # are skipped."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


class Command(BaseCommand):
    help = "Play a scripted caller against the agent engine; print the transcript and a trace summary."

    def add_arguments(self, parser):
        parser.add_argument(
            "--customer", help="Customer id, phone (E.164) or account number; omit for an unknown caller"
        )
        parser.add_argument("--workflow", required=True, choices=sorted(WORKFLOWS))
        parser.add_argument("--script", required=True, type=Path, help="Text file: one caller utterance per line")
        parser.add_argument("--direction", default="inbound", choices=["inbound", "outbound"])
        parser.add_argument("--channel", default="voice", choices=["voice", "web_chat"], help="Reply style")
        parser.add_argument("--user", help="Your username: the audit trail names you for what the call would do")

    def handle(self, *args, customer, workflow, script, direction, channel, user, **options):
        self.started_by = Person(None, f"{_os_user()} (simulate_call)")
        if user:
            person = get_user_model().objects.filter(username=user).first()
            if person is None:
                raise CommandError(f"No user {user!r}.")
            self.started_by = Person(person.pk, person.get_username())
        if not script.is_file():
            raise CommandError(f"No script file at {script}.")
        utterances = read_script(script)
        if not utterances:
            raise CommandError(f"{script} has no caller lines.")
        customer_id = self._customer_id(customer) if customer else None
        if direction == "outbound" and customer_id is None:
            raise CommandError("An outbound call needs --customer.")
        call_id = async_to_sync(self._play)(workflow, direction, channel, customer_id, utterances)
        self._summary(Call.objects.get(pk=call_id))

    def _customer_id(self, value: str) -> int:
        lookup = Q(phone=value) | Q(account_number=value)
        if value.isdigit():
            lookup |= Q(pk=int(value))
        customer = Customer.objects.filter(lookup).first()
        if customer is None:
            raise CommandError(f"No customer with id, phone or account number {value!r}.")
        return customer.pk

    async def _play(self, workflow, direction, channel, customer_id, utterances) -> int:
        # A simulation is a test call: on a real customer, nothing it does touches their records.
        session = await AgentSession.start(
            workflow=workflow,
            channel=channel,
            direction=direction,
            customer_id=customer_id,
            reason=f"Simulation by {self.started_by.audit_label}",
            started_by=self.started_by,
            test=True,
            ports=conversation_ports(),
        )
        self.stdout.write(f"Call {session.call_id}: {workflow} v{session.state.version}, {direction}, {channel}\n")
        async for event in session.greet():
            if isinstance(event, ReplyEnd):
                self.stdout.write(f"AGENT:  {event.text}")
        for line in utterances:
            self.stdout.write(f"CALLER: {line}")
            async for event in session.reply(line):
                if isinstance(event, ReplyEnd):
                    self.stdout.write(f"AGENT:  {event.text}")
                elif isinstance(event, Handoff):
                    self.stdout.write(f"-- handoff: {event.reason}")
                elif isinstance(event, Ended):
                    self.stdout.write(f"-- ended: {event.reason}")
            if session.state.ended:
                break
        await session.flush()
        return session.call_id

    def _summary(self, call: Call) -> None:
        trace = list(call.trace.order_by("at", "id"))
        steps = [t.payload["to"] for t in trace if t.kind == TraceKind.STEP_CHANGE]
        tools = Counter(f"{t.name}:{t.payload['result']['status']}" for t in trace if t.kind == TraceKind.TOOL_CALL)
        guardrails = Counter(t.name for t in trace if t.kind == TraceKind.GUARDRAIL)
        turns = [t.payload for t in trace if t.kind == TraceKind.TURN]
        overhead = [turn["overhead_ms"] for turn in turns]
        self.stdout.write("\nTrace summary")
        self.stdout.write(f"  steps:       {' -> '.join(steps or [call.state.get('step', '')])}")
        self.stdout.write(f"  tools:       {', '.join(f'{k} x{v}' for k, v in tools.items()) or 'none'}")
        self.stdout.write(f"  guardrails:  {', '.join(f'{k} x{v}' for k, v in guardrails.items()) or 'none'}")
        self.stdout.write(f"  LLM calls:   {sum(t.kind == TraceKind.LLM_CALL for t in trace)}")
        modes = Counter(turn["mode"] for turn in turns)
        self.stdout.write(f"  turns:       {len(turns)} ({', '.join(f'{k} {v}' for k, v in modes.items())})")
        if overhead:
            self.stdout.write(
                f"  overhead:    median {statistics.median(overhead):.2f} ms, max {max(overhead):.2f} ms per turn"
            )
        self.stdout.write(f"  tokens/cost: {call.prompt_tokens + call.completion_tokens} / ${call.cost_usd}")
        records = []
        if promises := list(call.promises.values_list("pk", flat=True)):
            records.append(f"promise {promises}")
        if approvals := list(call.approvals.values_list("pk", flat=True)):
            records.append(f"approval {approvals}")
        if hasattr(call, "dispatch"):
            records.append(f"dispatch {call.dispatch.pk}")
        if call.handoff_reason:
            records.append(f"handoff ({call.handoff_reason})")
        self.stdout.write(f"  recorded:    {', '.join(records) or 'nothing'}")
        if call.is_test:
            effects = call.state.get("facts", {}).get("test_effects", [])
            done = "; ".join(
                f"{effect['action']} ({', '.join(f'{k} {v}' for k, v in sorted(effect.items()) if k != 'action' and v)})"
                for effect in effects
            )
            self.stdout.write(f"  not done:    {done or 'nothing'} (a test call touches no real records)")
