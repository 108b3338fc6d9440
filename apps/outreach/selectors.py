from django.db.models import QuerySet

from apps.outreach.models import FollowUp


def followups_list(*, customer_id: int | None = None, status: str = "") -> QuerySet[FollowUp]:
    followups = FollowUp.objects.all()
    if customer_id is not None:
        followups = followups.filter(customer_id=customer_id)
    if status:
        followups = followups.filter(status=status)
    return followups.order_by("due_at", "id")
