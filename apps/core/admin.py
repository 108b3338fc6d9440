"""Admin building blocks: every change made through the admin lands in the audit trail."""

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html

from apps.core.errors import DomainError
from apps.core.models import AuditEvent
from apps.core.services import audit_record

admin.site.site_header = "Contact center"
admin.site.site_title = "Contact center admin"
admin.site.index_title = "Supervision"


def _plain(value: Any) -> Any:
    """A form value as something JSON can hold: related objects by primary key."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple):
        return [_plain(item) for item in value]
    return value


def _changes(form) -> dict[str, list[Any]]:
    return {name: [_plain(form.initial.get(name)), _plain(form.cleaned_data.get(name))] for name in form.changed_data}


class AuditedModelAdmin(admin.ModelAdmin):
    """Records an AuditEvent for every add, change and delete, inlines included."""

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            if form.changed_data:
                audit_record(actor=request.user, action="admin.change", obj=obj, details={"changes": _changes(form)})
        else:
            audit_record(actor=request.user, action="admin.add", obj=obj)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        changed = {id(f.instance): _changes(f) for f in formset.forms if f.has_changed()}
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            audit_record(actor=request.user, action="admin.add", obj=obj)
        for obj, _ in formset.changed_objects:
            audit_record(
                actor=request.user, action="admin.change", obj=obj, details={"changes": changed.get(id(obj), {})}
            )
        for obj in formset.deleted_objects:
            audit_record(actor=request.user, action="admin.delete", obj=obj)

    def delete_model(self, request: HttpRequest, obj) -> None:
        audit_record(actor=request.user, action="admin.delete", obj=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for obj in queryset:
            audit_record(actor=request.user, action="admin.delete", obj=obj)
        super().delete_queryset(request, queryset)


class ReadOnlyAdminMixin:
    """For records nobody edits by hand: traces, transcripts, the audit trail."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return flat(self.fields or ())


def flat(fields: Sequence[Any]) -> tuple[str, ...]:
    """Field names from a `fields` layout that groups some on one line."""
    return tuple(name for item in fields for name in (item if isinstance(item, tuple) else (item,)))


def pretty_json(value: Any) -> str:
    return format_html('<pre class="cc-json">{}</pre>', json.dumps(value, indent=2, cls=DjangoJSONEncoder))


def status_pill(value: str, label: str) -> str:
    return format_html('<span class="cc-pill cc-pill-{}">{}</span>', value, label)


@dataclass(frozen=True)
class ConfirmRow:
    pk: int
    cells: tuple[Any, ...]


def confirm_action(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    action: str,
    verb: str,
    intro: str,
    columns: tuple[str, ...],
    rows: Iterable[ConfirmRow],
    form: forms.Form,
) -> TemplateResponse:
    """The page between an admin action and its effect: what is selected, and the form that
    asks why (a note, a reason). Submitting it posts the action again with `post=yes`."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{verb} {model_admin.opts.verbose_name_plural}",
        "subtitle": None,
        "opts": model_admin.opts,
        "verb": verb,
        "intro": intro,
        "action": action,
        "columns": columns,
        "rows": list(rows),
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media + form.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/confirm_action.html", context)


def run_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    ids: Iterable[int],
    operation: Callable[[int], Any],
    *,
    done: Callable[[int], str],
    refused_as: str,
) -> None:
    """Run one service per selected row; report how many succeeded and why the others were refused."""
    succeeded, refused = 0, []
    for pk in ids:
        try:
            operation(pk)
        except DomainError as exc:
            refused.append(f"{model_admin.opts.verbose_name} {pk}: {exc.message}")
        else:
            succeeded += 1
    if succeeded:
        model_admin.message_user(request, done(succeeded), messages.SUCCESS)
    if refused:
        model_admin.message_user(
            request, f"{len(refused)} could not be {refused_as}: {'; '.join(refused)}", messages.WARNING
        )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "object_repr", "object_id", "action")
    date_hierarchy = "at"
    fields = ("at", "actor", "actor_label", "action", "object_type", "object_id", "object_repr", "details_json")
    readonly_fields = fields

    @admin.display(description="details")
    def details_json(self, event: AuditEvent) -> str:
        return pretty_json(event.details)
