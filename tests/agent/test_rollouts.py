"""Staged rollout: a candidate workflow definition gets its share of calls by a stable hash of the
customer, only once the evaluation suite passed for its exact version; each call records the
version it ran and keeps it; promote and roll back are one audited action each."""

import pytest
from asgiref.sync import async_to_sync

from apps.agent import rollouts
from apps.agent.engine import AgentSession
from apps.agent.models import Rollout, RolloutStatus, VersionEvaluation
from apps.agent.workflows import get_workflow
from apps.calls.models import Call
from apps.core.errors import Conflict
from apps.core.models import AuditEvent
from tests.agent import candidates
from tests.factories import CustomerFactory, UserFactory

CURRENT, CANDIDATE = get_workflow("collections").version, candidates.REWORDED.version


@pytest.fixture(autouse=True)
def ships_a_candidate(settings):
    """This release ships the reworded collections definition as its candidate."""
    settings.AGENT_CANDIDATES = ["tests.agent.candidates:REWORDED"]


def passed(version: str = CANDIDATE, ok: bool = True) -> VersionEvaluation:
    return rollouts.evaluation_record(
        workflow="collections", version=version, passed=ok, report={"total": 247, "passed": 247}, run_by="ci"
    )


def share_of_candidate(customers: range) -> float:
    chosen = [rollouts.choose("collections", f"customer:{n}").version for n in customers]
    assert set(chosen) <= {CURRENT, CANDIDATE}
    return 100 * chosen.count(CANDIDATE) / len(chosen)


@pytest.mark.django_db
@pytest.mark.parametrize("share", [10, 30, 50])
def test_calls_split_by_the_share_within_three_points_over_2000_customers(share):
    passed()
    rollouts.rollout_set(workflow="collections", version=CANDIDATE, share=share, actor="sup")
    split = share_of_candidate(range(1, 2001))
    assert abs(split - share) <= 3, split
    assert share_of_candidate(range(1, 2001)) == split  # stable: a customer hears one version


@pytest.mark.django_db
def test_raising_the_share_only_adds_customers():
    passed()
    rollouts.rollout_set(workflow="collections", version=CANDIDATE, share=20, actor="sup")
    before = {n for n in range(1, 2001) if rollouts.choose("collections", f"customer:{n}").version == CANDIDATE}
    rollouts.rollout_set(workflow="collections", version=CANDIDATE, share=40, actor="sup")
    after = {n for n in range(1, 2001) if rollouts.choose("collections", f"customer:{n}").version == CANDIDATE}
    assert before < after


@pytest.mark.django_db
def test_a_candidate_without_a_passing_report_gets_no_calls():
    # A trial at 100% written behind the service's back, its only evaluation failed, another
    # version's passed: still no call runs it.
    Rollout.objects.create(workflow="collections", candidate_version=CANDIDATE, share=100)
    passed(ok=False)
    passed(version=candidates.BROKEN.version)
    assert share_of_candidate(range(1, 201)) == 0
    # And the service refuses it, writing nothing.
    Rollout.objects.all().delete()
    with pytest.raises(Conflict) as refused:
        rollouts.rollout_set(workflow="collections", version=CANDIDATE, share=10, actor="sup")
    assert refused.value.message == (
        f"The evaluation suite has not passed for collections {CANDIDATE}: run "
        "`manage.py eval_agent --candidate collections` first; until then it gets no calls."
    )
    assert (Rollout.objects.count(), AuditEvent.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_only_the_candidate_this_release_ships_can_be_rolled_out():
    passed(version=candidates.BROKEN.version)
    with pytest.raises(Conflict) as refused:
        rollouts.rollout_set(workflow="collections", version=candidates.BROKEN.version, share=10, actor="sup")
    assert refused.value.message == (
        f"{candidates.BROKEN.version} is not a candidate of collections in this release (this release ships {CANDIDATE})."
    )
    assert Rollout.objects.count() == 0


@pytest.mark.django_db
def test_nobody_known_and_no_rollout_get_the_current_definition():
    passed()
    assert rollouts.choose("collections", "customer:7").version == CURRENT  # no Rollout row
    rollouts.rollout_set(workflow="collections", version=CANDIDATE, share=100, actor="sup")
    assert rollouts.choose("collections", "").version == CURRENT  # nothing to hash: not on trial
    assert rollouts.choose("roadside", "customer:7").version == get_workflow("roadside").version


def start(customer) -> AgentSession:
    return async_to_sync(AgentSession.start)(
        workflow="collections", channel="web_chat", direction="inbound", customer_id=customer.pk
    )


def test_each_call_records_its_version_keeps_it_and_a_rollback_takes_effect_on_the_next_call(live_db):
    supervisor = UserFactory(username="sup")
    maria = CustomerFactory(name="Maria Lopez")
    passed()
    rollouts.rollout_set(workflow="collections", version=CANDIDATE, share=100, actor=supervisor)

    first = start(maria)
    assert first.workflow is candidates.REWORDED
    assert Call.objects.get(pk=first.call_id).workflow_version == CANDIDATE

    rollouts.rollout_roll_back(workflow="collections", actor=supervisor)
    second = start(maria)
    assert Call.objects.get(pk=second.call_id).workflow_version == CURRENT
    assert second.workflow.version == CURRENT
    # The call that started on the candidate goes on under it, resumed in another process too.
    resumed = async_to_sync(AgentSession.resume)(first.call_id)
    assert resumed.workflow is candidates.REWORDED

    rollouts.rollout_promote(workflow="collections", actor=supervisor)
    assert Call.objects.get(pk=start(CustomerFactory()).call_id).workflow_version == CANDIDATE

    trail = list(AuditEvent.objects.order_by("id").values_list("actor_label", "action", "details"))
    assert trail == [
        ("sup", "rollout.set", {"changes": {
            "candidate_version": [None, CANDIDATE], "share": [None, 100], "status": [None, "trial"]}}),
        ("sup", "rollout.roll_back", {"changes": {"status": ["trial", "rolled_back"]}}),
        ("sup", "rollout.promote", {"changes": {"status": ["rolled_back", "promoted"]}}),
    ]  # fmt: skip
    assert Rollout.objects.get().status == RolloutStatus.PROMOTED


@pytest.mark.django_db
def test_promotion_needs_a_passing_evaluation():
    Rollout.objects.create(workflow="collections", candidate_version=CANDIDATE, share=0)
    with pytest.raises(Conflict):
        rollouts.rollout_promote(workflow="collections", actor="sup")
    assert (Rollout.objects.get().status, AuditEvent.objects.count()) == (RolloutStatus.TRIAL, 0)


def test_a_version_no_longer_shipped_resumes_on_the_current_definition():
    assert get_workflow("collections", candidates.BROKEN.version).version == CURRENT
    assert get_workflow("collections", CANDIDATE) is candidates.REWORDED
