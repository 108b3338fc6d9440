from django.db.models import QuerySet

from apps.promises.models import Promise


def promises_list(*, customer_id: int | None = None, status: str = "") -> QuerySet[Promise]:
    promises = Promise.objects.all()
    if customer_id is not None:
        promises = promises.filter(customer_id=customer_id)
    if status:
        promises = promises.filter(status=status)
    return promises.order_by("-due_date", "-id")
