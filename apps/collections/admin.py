"""The admin pages that show or start work across apps, composed here, above every app they show:

- a promise (with its text confirmation) and a payment: recording and closing them goes through
  apps/collections/actions.py, so a promise added here is texted and a broken one followed up;
- a customer, with their calls, promises and follow-ups inline.
"""

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize

from apps.calls.admin import CustomerCallInline
from apps.collections.actions import payment_record, promise_close, promise_record
from apps.core.admin import AuditedModelAdmin, ConfirmRow, confirm_action, run_each, status_pill
from apps.core.errors import InvalidReference
from apps.customers.admin import CustomerAdmin
from apps.customers.models import Customer
from apps.outreach.admin import CustomerFollowUpInline
from apps.promises.admin import CustomerPromiseInline
from apps.promises.models import Payment, Promise, PromiseSource, PromiseStatus
from apps.promises.services import payment_check_received_at
from apps.telephony.admin import PromiseSmsInline


@admin.register(Customer)
class CustomerPageAdmin(CustomerAdmin):
    inlines = (CustomerCallInline, CustomerPromiseInline, CustomerFollowUpInline)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=255,
        help_text="Why: it stays with the promise and in the audit trail.",
    )


class PaymentAddForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ("customer", "amount", "reference", "method", "received_at")

    def clean_received_at(self):
        received_at = self.cleaned_data["received_at"]
        try:
            payment_check_received_at(received_at)
        except InvalidReference as exc:
            raise forms.ValidationError(exc.message) from exc
        return received_at


@admin.register(Promise)
class PromiseAdmin(AuditedModelAdmin):
    inlines = (PromiseSmsInline,)
    list_display = (
        "customer",
        "amount",
        "currency",
        "due_date",
        "status_badge",
        "amount_paid",
        "method",
        "confidence",
        "source",
        "created_at",
    )
    list_filter = ("status", "source", "method", "due_date")
    search_fields = ("customer__name", "customer__account_number", "status_reason")
    date_hierarchy = "due_date"
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    raw_id_fields = ("call", "superseded_by")
    fields = (
        "customer",
        "call",
        ("amount", "currency"),
        "due_date",
        "method",
        "status",
        "status_reason",
        "amount_paid",
        "status_changed_at",
        "superseded_by",
        ("confidence", "source"),
        ("created_at", "updated_at"),
    )

    actions = ("mark_kept", "mark_broken")
    # A new promise is recorded like any other (it supersedes the open ones); an existing one
    # changes only through its lifecycle: payments, the actions below, the lapse sweep.
    add_fields = ("customer", "call", "amount", "due_date", "method")

    def get_fields(self, request: HttpRequest, obj: Promise | None = None):
        return self.add_fields if obj is None else self.fields

    def get_inlines(self, request: HttpRequest, obj: Promise | None = None):
        return self.inlines if obj is not None else ()  # its confirmation text, once it exists

    def has_change_permission(self, request: HttpRequest, obj: Promise | None = None) -> bool:
        return obj is None and super().has_change_permission(request)  # the actions, not the form

    def save_model(self, request: HttpRequest, obj: Promise, form, change: bool) -> None:
        promise = promise_record(
            customer_id=obj.customer_id,
            call_id=obj.call_id,
            amount=obj.amount,
            due_date=obj.due_date,
            method=obj.method,
            source=PromiseSource.STAFF,
            actor=request.user,
        )
        obj.pk = promise.pk  # the admin redirects to it

    @admin.action(description="Mark the selected promises kept…", permissions=["change"])
    def mark_kept(self, request: HttpRequest, queryset: QuerySet[Promise]):
        return self._close(request, queryset, PromiseStatus.KEPT)

    @admin.action(description="Mark the selected promises broken…", permissions=["change"])
    def mark_broken(self, request: HttpRequest, queryset: QuerySet[Promise]):
        return self._close(request, queryset, PromiseStatus.BROKEN)

    def _close(self, request: HttpRequest, queryset: QuerySet[Promise], status: str):
        form = ReasonForm(request.POST if request.POST.get("post") else None)
        label = PromiseStatus(status).label.lower()
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            run_each(
                self,
                request,
                queryset.order_by("pk").values_list("pk", flat=True),
                lambda pk: promise_close(promise_id=pk, status=status, reason=reason, actor=request.user),
                done=lambda n: f"Marked {n} promise{pluralize(n)} {label}.",
                refused_as=f"marked {label}",
            )
            return None
        consequence = (
            "A follow-up call is scheduled for each."
            if status == PromiseStatus.BROKEN
            else "Their follow-ups are cancelled."
        )
        return confirm_action(
            self,
            request,
            action=f"mark_{status}",
            verb=f"Mark {label}",
            intro=f"Mark the selected promises {label}? {consequence} Promises no longer open are skipped and reported.",
            columns=("Customer", "Amount", "Due", "Paid", "Status"),
            rows=(
                ConfirmRow(
                    p.pk, (p.customer, f"{p.amount} {p.currency}", p.due_date, p.amount_paid, p.get_status_display())
                )
                for p in queryset.select_related("customer").order_by("pk")
            ),
            form=form,
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, promise: Promise) -> str:
        return status_pill(promise.status, promise.get_status_display())


@admin.register(Payment)
class PaymentAdmin(AuditedModelAdmin):
    list_display = ("received_at", "customer", "amount", "currency", "reference", "method", "promise")
    list_filter = ("method", "received_at")
    search_fields = ("reference", "customer__name", "customer__account_number")
    date_hierarchy = "received_at"
    list_select_related = ("customer", "promise")
    autocomplete_fields = ("customer",)
    raw_id_fields = ("promise",)
    fields = ("customer", ("amount", "currency"), "reference", "method", "received_at", "promise", "created_at")
    add_fields = ("customer", "amount", "reference", "method", "received_at")

    # Payments are recorded once, through the same service as the API, and never edited.
    def get_fields(self, request: HttpRequest, obj: Payment | None = None):
        return self.add_fields if obj is None else self.fields

    def get_form(self, request: HttpRequest, obj: Payment | None = None, **kwargs):
        if obj is None:
            kwargs["form"] = PaymentAddForm
        return super().get_form(request, obj, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Payment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Payment | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Payment, form, change: bool) -> None:
        payment, _ = payment_record(
            customer_id=obj.customer_id,
            amount=obj.amount,
            reference=obj.reference,
            received_at=obj.received_at,
            method=obj.method,
            actor=request.user,
        )
        obj.pk = payment.pk
