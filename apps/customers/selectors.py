from django.db.models import Q, QuerySet

from apps.customers.models import Customer


def customers_search(
    *, query: str = "", collection_stage: str = "", risk_category: str = "", phone: str = ""
) -> QuerySet[Customer]:
    customers = Customer.objects.all()
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(account_number__iexact=query) | Q(email__iexact=query)
        )
    if collection_stage:
        customers = customers.filter(collection_stage=collection_stage)
    if risk_category:
        customers = customers.filter(risk_category=risk_category)
    if phone:
        customers = customers.filter(phone=phone)
    return customers.order_by("name", "id")
