from django.db.models import QuerySet

from apps.promises.models import Payment, Promise


def promises_list(*, customer_id: int | None = None, status: str = "") -> QuerySet[Promise]:
    promises = Promise.objects.all()
    if customer_id is not None:
        promises = promises.filter(customer_id=customer_id)
    if status:
        promises = promises.filter(status=status)
    return promises.order_by("-due_date", "-id")


def payments_list(*, customer_id: int | None = None) -> QuerySet[Payment]:
    payments = Payment.objects.select_related("promise")
    if customer_id is not None:
        payments = payments.filter(customer_id=customer_id)
    return payments.order_by("-received_at", "-id")
