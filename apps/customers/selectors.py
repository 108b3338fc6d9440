import phonenumbers
from django.conf import settings
from django.db.models import Q, QuerySet
from phonenumbers import timezone as phone_zones

from apps.customers.models import Customer

UNKNOWN_ZONE = "Etc/Unknown"


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


def number_zones(phone: str) -> list[str]:
    """The IANA zones a phone number may be in (several for some numbers), none when unknown."""
    try:
        names = phone_zones.time_zones_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return []
    return [name for name in names if name != UNKNOWN_ZONE]


def customer_zone(customer: Customer) -> str:
    """The zone the customer's days are counted in: the one on record, else the number's when it
    has exactly one, else the business's."""
    if customer.timezone:
        return customer.timezone
    zones = number_zones(customer.phone)
    return zones[0] if len(zones) == 1 else settings.BUSINESS_TIME_ZONE
