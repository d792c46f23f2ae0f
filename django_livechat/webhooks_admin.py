"""Admin for webhook endpoints and their deliveries (imported from ``AppConfig.ready()``).

- endpoints: URL, secret, events (checkboxes), active; with counts of pending and failed
  deliveries;
- deliveries: read-only list with status, attempts, last answer; the action "Re-send" (needs
  ``change_webhookdelivery``) makes them pending again and sends them after commit, and writes
  the admin log.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from django_livechat import webhooks
from django_livechat.models import WebhookDelivery, WebhookEndpoint, WebhookEvent


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vTextField", "style": "width: 40em"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The events sent to this endpoint."),
    )
    secret = forms.CharField(
        label=_("Secret"),
        max_length=255,
        initial=new_secret,
        help_text=_(
            "Shared secret of the X-Livechat-Signature header (HMAC-SHA256 over the timestamp, "
            "a dot and the body). Give the same value to the receiver."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "secret", "events", "is_active"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError(_("Enter an http:// or https:// URL."))
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["__str__", "url", "is_active", "event_list", "pending", "failed", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        queryset: QuerySet[WebhookEndpoint] = (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count(
                    "deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)
                ),
                failed_count=Count(
                    "deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)
                ),
            )
        )
        return queryset

    @admin.display(description=_("events"))
    def event_list(self, obj: WebhookEndpoint) -> str:
        labels = dict(WebhookEvent.choices)
        return ", ".join(str(labels.get(e, e)) for e in obj.events or []) or "-"

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending(self, obj: Any) -> int:
        return int(obj.pending_count)

    @admin.display(description=_("failed"), ordering="failed_count")
    def failed(self, obj: Any) -> int:
        return int(obj.failed_count)


DELIVERY_FIELDS = (
    "delivery_id",
    "endpoint",
    "event",
    "status",
    "attempts",
    "created_at",
    "last_attempt_at",
    "next_attempt_at",
    "delivered_at",
    "last_status_code",
    "last_response",
    "payload_pretty",
)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "short_id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_response_preview",
        "created_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["=delivery_id"]
    list_display_links = ["short_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["resend"]
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("delivery id"), ordering="delivery_id")
    def short_id(self, obj: WebhookDelivery) -> str:
        """The start of the id (the whole id is on the detail page and searchable)."""
        return str(obj.delivery_id)[:8]

    @admin.display(description=_("last response"))
    def last_response_preview(self, obj: WebhookDelivery) -> str:
        return Truncator(obj.last_response).chars(80)

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj: WebhookDelivery) -> str:
        try:
            text = json.dumps(json.loads(obj.payload), ensure_ascii=False, indent=2)
        except ValueError:
            text = obj.payload
        return format_html("<pre>{}</pre>", text)

    @admin.action(description=_("Re-send selected deliveries"), permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        deliveries = list(queryset)
        count = webhooks.resend(deliveries)
        for delivery in deliveries:
            self.log_change(
                request,
                delivery,
                gettext("Re-sent (after %(attempts)d attempt(s), status %(status)s).")
                % {"attempts": delivery.attempts, "status": delivery.status},
            )
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be sent again.",
                "%(count)d deliveries will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
