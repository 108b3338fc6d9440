"""What the agent knows about the caller before the conversation: the customer record, as context."""

from apps.agent.prompts import CustomerContext
from apps.customers.models import Customer
from apps.customers.selectors import customer_zone


def load_customer(customer_id: int | None) -> CustomerContext:
    if customer_id is None:
        return CustomerContext(customer_id=None)
    customer = Customer.objects.get(pk=customer_id)
    profile = customer.profile or {}
    on_file: dict = {"phone": customer.phone, "language": customer.language, "currency": customer.currency}
    if vehicle := profile.get("vehicle"):
        on_file["vehicle"] = " ".join(str(vehicle[k]) for k in ("make", "model") if vehicle.get(k))
        for key in ("year", "color", "plate"):
            if vehicle.get(key):
                on_file[f"vehicle_{key}"] = vehicle[key]
    if address := profile.get("address"):
        on_file["home_city"] = ", ".join(str(address[k]) for k in ("city", "state") if address.get(k))
    return CustomerContext(
        customer_id=customer.pk,
        full_name=customer.name,
        first_name=customer.name.split()[0],
        on_file=on_file,
        timezone=customer_zone(customer),
    )
