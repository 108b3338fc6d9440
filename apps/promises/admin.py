"""Promises shown inside other apps' pages. The promise and payment pages themselves record and
close promises, which starts texts and follow-ups: they are in apps/collections/admin.py."""

from apps.core.admin import ReadOnlyInline
from apps.promises.models import Promise


class CustomerPromiseInline(ReadOnlyInline):
    model = Promise
    fk_name = "customer"
    fields = ("due_date", "amount", "currency", "amount_paid", "status", "method", "source", "confidence")


class CallPromiseInline(CustomerPromiseInline):
    fk_name = "call"
