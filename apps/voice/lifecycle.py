"""What a voice call's status starts in the apps above `calls`: its analysis, and its follow-up.

Twilio reports a call's status (status callbacks, the end of a relay session, reconciliation);
`calls` applies it to the row and says what changed, and this orchestrates the rest explicitly,
in the same transaction: the first arrival at `completed` queues the call's analysis (once per
call: the analysis row is the guard, the task goes after commit), and an ended call placed for
a follow-up moves that follow-up on.
"""

from django.db import transaction

from apps.analysis.services import analysis_queue
from apps.calls.models import TERMINAL_STATUSES, Call
from apps.calls.services import StatusUpdate, call_apply_status
from apps.outreach.services import followup_call_ended


@transaction.atomic
def call_status_record(update: StatusUpdate) -> Call | None:
    """Apply Twilio's view of a call, and start what its end starts. Safe in any order and any
    number of times (see call_apply_status); None when the call is not ours."""
    applied = call_apply_status(update)
    if applied is None:
        return None
    call = applied.call
    if applied.completed:
        analysis_queue(call_id=call.pk)
    if applied.applied and call.status in TERMINAL_STATUSES and call.followup_id:
        followup_call_ended(call=call)
    return call
