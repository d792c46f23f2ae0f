"""The staff's inbox: conversations, transcripts, replies, moderation, visitors and tokens.

Custom pages follow Django's own ``history_view``: ``get_urls()`` + ``admin_site.admin_view`` +
a permission check + ``Paginator`` + ``TemplateResponse`` with ``each_context``. Every state
change is a POST (CSRF-protected by ``admin_view``) and checks its permission itself; the
templates only hide what a user may not do. The domain work is done by ``services`` (replies,
closing) and ``moderation`` (hiding, blocking, exports, erasure).

Permissions:

- read conversations, transcripts and exports: ``view_room`` (or ``change_room``);
- reply as an agent: ``add_message``; close a conversation or assign its agent: ``change_room``;
- hide/unhide messages, block/unblock visitors: ``moderate_message``;
- see visitors and export their data: ``view_visitor``; erase them: ``delete_visitor``;
- tokens: ``add_authtoken`` (create, shown once), ``view_authtoken``, ``delete_authtoken`` (revoke).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import MaxLengthValidator
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Substr
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from django_livechat import moderation, services, transcripts
from django_livechat.conf import app_settings
from django_livechat.models import AuthToken, Message, Room, Visitor

PREVIEW_LENGTH = 80
TRANSCRIPT_PAGE_SIZE = 50  # rendering dominates the page time: 50 keeps it fast
MODERATE_PERMISSION = "django_livechat.moderate_message"
REPLY_PERMISSION = "django_livechat.add_message"
CLOSE_PERMISSION = "django_livechat.change_room"

EXPORT_FORMATS: dict[str, tuple[str, Callable[..., Iterator[str]]]] = {
    "txt": ("text/plain; charset=utf-8", transcripts.iter_txt),
    "csv": ("text/csv; charset=utf-8", transcripts.iter_csv),
    "json": ("application/json", transcripts.iter_json),
}


def _page_number(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _short_datetime(value: datetime | None) -> str:
    """A compact local date and time for list columns (the site's time zone)."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


# ------------------------------------------------------------------------------------------------
# Forms of the custom pages
# ------------------------------------------------------------------------------------------------


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a reply to the visitor")}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["text"]
        field.validators.append(MaxLengthValidator(app_settings.MAX_MESSAGE_LENGTH))
        field.widget.attrs["maxlength"] = str(app_settings.MAX_MESSAGE_LENGTH)


class CloseForm(forms.Form):
    comment = forms.CharField(label=_("Closing comment"), required=False, max_length=1000)


class HideForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class UnhideForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class BlockForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


# ------------------------------------------------------------------------------------------------
# Conversations
# ------------------------------------------------------------------------------------------------


@dataclass
class TranscriptEntry:
    message: Message
    author: str
    text: str


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    show_facets = admin.ShowFacets.NEVER  # facet counts would scan big tables
    list_display = (
        "rid",
        "visitor_display",
        "status",
        "preview",
        "message_count",
        "last_activity",
        "opened",
        "serving_agent",
        "source",
    )
    list_filter = (
        "status",
        ("serving_agent", admin.RelatedOnlyFieldListFilter),  # only agents that appear
        ("visitor__is_blocked", admin.BooleanFieldListFilter),
    )
    date_hierarchy = "opened_at"
    search_fields = ("visitor__username", "visitor__name", "visitor__email")
    search_help_text = _(
        "Visitor username, name or email; or an exact visitor token or conversation id (rid)."
    )
    list_select_related = ("visitor", "serving_agent")
    sortable_by = ("rid", "status", "message_count", "last_activity", "opened")  # indexed
    show_full_result_count = False
    list_per_page = 50
    raw_id_fields = ("serving_agent",)
    fields = (
        "rid",
        "visitor_link",
        "status",
        "source",
        "opened_at",
        "serving_agent",
        "message_count",
        "last_message_at",
        "closed_at",
        "closed_by",
        "close_comment",
        "transcript_link",
    )
    readonly_fields = (
        "rid",
        "visitor_link",
        "status",
        "source",
        "opened_at",
        "message_count",
        "last_message_at",
        "closed_at",
        "closed_by",
        "close_comment",
        "transcript_link",
    )

    # -- list ------------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Room]:
        last = Message.objects.filter(room=OuterRef("pk")).order_by("-ts", "-pk")
        preview = last.annotate(
            preview_text=Case(
                When(hidden_at__isnull=True, then=Substr("msg", 1, PREVIEW_LENGTH + 1)),
                default=Value(None),
            )
        ).values("preview_text")[:1]
        queryset: QuerySet[Room] = super().get_queryset(request)
        return queryset.annotate(last_message_preview=Subquery(preview))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Room], search_term: str
    ) -> tuple[QuerySet[Room], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        match = (
            Q(rid=term)
            | Q(visitor__token=term)
            | Q(visitor__username=term)
            | Q(visitor__name__icontains=term)
            | Q(visitor__email__icontains=term)
        )
        return queryset.filter(match), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # conversations are opened by the API

    def has_delete_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False  # erase a visitor (with all their conversations) instead

    @admin.display(description=_("visitor"))
    def visitor_display(self, obj: Room) -> str:
        visitor = obj.visitor
        if visitor.is_blocked:
            return format_html(
                '{} <span class="livechat-badge livechat-blocked">{}</span>',
                visitor,
                gettext("blocked"),
            )
        return str(visitor)

    @admin.display(description=_("visitor"))
    def visitor_link(self, obj: Room) -> str:
        url = reverse(
            f"{self.admin_site.name}:django_livechat_visitor_change", args=[obj.visitor_id]
        )
        return format_html('<a href="{}">{}</a> ({})', url, obj.visitor, obj.visitor.username)

    @admin.display(description=_("last message"))
    def preview(self, obj: Room) -> str:
        """The last message's start (one subquery for the page), linking to the transcript."""
        text = getattr(obj, "last_message_preview", None)
        if text is None:
            text = gettext("(hidden)") if obj.message_count else gettext("(no messages)")
        else:
            text = Truncator(" ".join(text.split())).chars(PREVIEW_LENGTH)
        return format_html(
            '<a class="livechat-transcript-link livechat-preview" href="{}" title="{}">{}</a>',
            self._url("transcript", obj.pk),
            gettext("Read the transcript"),
            text,
        )

    @admin.display(description=_("last activity"), ordering="last_message_at")
    def last_activity(self, obj: Room) -> str:
        return _short_datetime(obj.last_message_at)

    @admin.display(description=_("opened"), ordering="opened_at")
    def opened(self, obj: Room) -> str:
        return _short_datetime(obj.opened_at)

    @admin.display(description=_("transcript"))
    def transcript_link(self, obj: Room) -> str:
        if obj.pk is None:
            return ""
        return format_html(
            '<a class="livechat-transcript-link" href="{}">{}</a>',
            self._url("transcript", obj.pk),
            gettext("Read"),
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {"title": gettext("Conversations"), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    # -- change page -----------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        extra_context["transcript_url"] = self._url("transcript", object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    # -- custom pages ----------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/transcript/",
                wrap(self.transcript_view),
                name=f"{name}_transcript",
            ),
            path(
                "<path:object_id>/transcript.<str:fmt>",
                wrap(self.transcript_export_view),
                name=f"{name}_transcript_export",
            ),
            path("<path:object_id>/reply/", wrap(self.reply_view), name=f"{name}_reply"),
            path("<path:object_id>/close/", wrap(self.close_view), name=f"{name}_close"),
            path(
                "<path:object_id>/messages/<int:message_id>/hide/",
                wrap(self.hide_view),
                name=f"{name}_hide",
            ),
            path(
                "<path:object_id>/messages/<int:message_id>/unhide/",
                wrap(self.unhide_view),
                name=f"{name}_unhide",
            ),
            *super().get_urls(),
        ]

    def _url(self, view: str, object_id: Any, *args: Any) -> str:
        name = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}"
        return reverse(name, args=[object_id, *args])

    def _room(self, request: HttpRequest, object_id: str) -> Room:
        """The room with what the transcript shows, or 404; 403 if the user may not view it."""
        try:
            room = (
                Room.objects.select_related("visitor", "serving_agent", "closed_by")
                .filter(pk=unquote(object_id))
                .get()
            )
        except (Room.DoesNotExist, ValueError, ValidationError) as exc:
            raise Http404(gettext("No such conversation.")) from exc
        if not self.has_view_or_change_permission(request, room):
            raise PermissionDenied
        return room

    def _can_moderate(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MODERATE_PERMISSION)

    def _can_reply(self, request: HttpRequest, room: Room) -> bool:
        return room.is_open and request.user.has_perm(REPLY_PERMISSION)

    def _can_close(self, request: HttpRequest, room: Room) -> bool:
        return room.is_open and request.user.has_perm(CLOSE_PERMISSION)

    def transcript_view(
        self,
        request: HttpRequest,
        object_id: str,
        reply_form: ReplyForm | None = None,
        close_form: CloseForm | None = None,
    ) -> HttpResponse:
        """The conversation, page by page, chat-style (the last page first)."""
        room = self._room(request, object_id)
        can_moderate = self._can_moderate(request)
        paginator = Paginator(transcripts.transcript_messages(room), TRANSCRIPT_PAGE_SIZE)
        number = _page_number(request.GET.get("p"))
        page = paginator.get_page(number if number is not None else paginator.num_pages)
        entries = [
            TranscriptEntry(
                message=message,
                author=transcripts.author_name(message, room),
                text=transcripts.visible_text(message, can_moderate),
            )
            for message in page.object_list
        ]
        can_reply = self._can_reply(request, room)
        can_close = self._can_close(request, room)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Conversation with %(visitor)s") % {"visitor": room.visitor},
            "subtitle": room.rid,
            "opts": self.opts,
            "room": room,
            "original": room,
            "entries": entries,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number),
            "can_moderate": can_moderate,
            "can_reply": can_reply,
            "can_close": can_close,
            "reply_form": reply_form or (ReplyForm() if can_reply else None),
            "close_form": close_form or (CloseForm() if can_close else None),
            "exports": [
                (fmt.upper(), self._url("transcript_export", room.pk, fmt))
                for fmt in EXPORT_FORMATS
            ],
            "change_url": self._url("change", room.pk),
            "visitor_url": reverse(
                f"{self.admin_site.name}:django_livechat_visitor_change", args=[room.visitor_id]
            ),
            "message_history_perm": request.user.has_perm("django_livechat.view_message"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            [
                f"admin/{self.opts.app_label}/{self.opts.model_name}/transcript.html",
                "admin/django_livechat/room/transcript.html",
            ],
            context,
            status=400 if (reply_form or close_form) else 200,
        )

    def _export_response(
        self, fmt: str, filename: str, chunks: Iterator[str]
    ) -> StreamingHttpResponse:
        content_type, _writer = EXPORT_FORMATS[fmt]
        response = StreamingHttpResponse(chunks, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
        return response

    def transcript_export_view(
        self, request: HttpRequest, object_id: str, fmt: str
    ) -> HttpResponseBase:
        if fmt not in EXPORT_FORMATS:
            raise Http404(gettext("Unknown export format."))
        room = self._room(request, object_id)
        _content_type, writer = EXPORT_FORMATS[fmt]
        chunks = writer(room, include_hidden=self._can_moderate(request))
        return self._export_response(fmt, f"transcript-{room.rid}", chunks)

    def _back(self, room: Room, page: Any = None, anchor: str = "") -> HttpResponseRedirect:
        url = self._url("transcript", room.pk)
        number = _page_number(page)
        if number is not None:
            url += f"?p={number}"
        if anchor:
            url += f"#{anchor}"
        return HttpResponseRedirect(url)

    @method_decorator(require_POST)
    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: store an agent reply through ``services.reply_as_agent``."""
        room = self._room(request, object_id)
        if not request.user.has_perm(REPLY_PERMISSION):
            raise PermissionDenied
        form = ReplyForm(request.POST)
        if not form.is_valid():
            return self.transcript_view(request, object_id, reply_form=form)
        try:
            message = services.reply_as_agent(
                room=room, agent=request.user, text=form.cleaned_data["text"]
            )
        except services.RoomClosed:
            messages.error(request, gettext("The conversation is closed: the reply was not sent."))
            return self._back(room)
        # The intake inserts without reading keys back: fetch the pk for the admin log.
        message.pk = Message.objects.values_list("pk", flat=True).get(public_id=message.public_id)
        moderation.log_addition(request.user, message, gettext("Replied as an agent."))
        messages.success(request, gettext("Your reply was sent."))
        return self._back(room, anchor=f"m-{message.public_id}")

    @method_decorator(require_POST)
    def close_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: close the conversation with a comment through ``services.close_room``."""
        room = self._room(request, object_id)
        if not request.user.has_perm(CLOSE_PERMISSION):
            raise PermissionDenied
        form = CloseForm(request.POST)
        if not form.is_valid():
            return self.transcript_view(request, object_id, close_form=form)
        if not room.is_open:
            messages.warning(request, gettext("The conversation was already closed."))
            return self._back(room)
        comment = form.cleaned_data["comment"]
        services.close_room(room=room, closed_by=request.user, comment=comment)
        text = gettext("Closed the conversation.")
        if comment:
            text += " " + gettext("Comment: %(comment)s") % {"comment": comment}
        moderation.log_action(request.user, room, moderation.CHANGE, text)
        messages.success(request, gettext("The conversation is closed."))
        return self._back(room)

    def _moderated_message(
        self, request: HttpRequest, object_id: str, message_id: int
    ) -> tuple[Room, Message]:
        room = self._room(request, object_id)
        if not self._can_moderate(request):
            raise PermissionDenied
        message = Message.objects.filter(room=room, pk=message_id).first()
        if message is None:
            raise Http404(gettext("No such message in this conversation."))
        return room, message

    @method_decorator(require_POST)
    def hide_view(self, request: HttpRequest, object_id: str, message_id: int) -> HttpResponse:
        """POST: hide a message with a reason (``moderate_message``)."""
        room, message = self._moderated_message(request, object_id, message_id)
        form = HideForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("Give a reason to hide the message."))
        else:
            try:
                reason = form.cleaned_data["reason"]
                moderation.hide_message(message, by=request.user, reason=reason)
            except (moderation.AlreadyDone, ValueError) as exc:
                messages.warning(request, str(exc))
            else:
                messages.success(request, gettext("The message is hidden."))
        return self._back(room, request.POST.get("p"), f"m-{message.public_id}")

    @method_decorator(require_POST)
    def unhide_view(self, request: HttpRequest, object_id: str, message_id: int) -> HttpResponse:
        """POST: show a hidden message again (``moderate_message``)."""
        room, message = self._moderated_message(request, object_id, message_id)
        form = UnhideForm(request.POST)
        if form.is_valid():
            try:
                moderation.unhide_message(
                    message, by=request.user, reason=form.cleaned_data["reason"]
                )
            except moderation.AlreadyDone as exc:
                messages.warning(request, str(exc))
            else:
                messages.success(request, gettext("The message is visible again."))
        else:
            messages.error(request, gettext("The reason is too long."))
        return self._back(room, request.POST.get("p"), f"m-{message.public_id}")


# ------------------------------------------------------------------------------------------------
# Messages: read-only, so that each message has an admin history (moderation is logged there)
# ------------------------------------------------------------------------------------------------


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    show_facets = admin.ShowFacets.NEVER  # facet counts would scan big tables
    list_display = ("public_id", "room", "author_kind", "ts", "is_hidden_display", "short_text")
    list_select_related = ("room",)
    search_fields = ("public_id",)
    search_help_text = _("An exact message id.")
    ordering = ("-pk",)
    sortable_by = ()
    show_full_result_count = False
    list_per_page = 50
    fields = (
        "public_id",
        "room_link",
        "author_kind",
        "agent",
        "posted_by",
        "ts",
        "msg",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
    )
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Message], search_term: str
    ) -> tuple[QuerySet[Message], bool]:
        term = search_term.strip()
        return (queryset.filter(public_id=term) if term else queryset), False

    def get_list_display(self, request: HttpRequest) -> Any:
        if request.user.has_perm(MODERATE_PERMISSION):
            return (*self.list_display[:-1], "text_for_moderators")
        return self.list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False  # texts are never edited; moderators hide them from the transcript

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    @admin.display(description=_("hidden"), boolean=True)
    def is_hidden_display(self, obj: Message) -> bool:
        return obj.is_hidden

    @admin.display(description=_("text"))
    def short_text(self, obj: Message) -> str:
        if obj.is_hidden:
            return gettext("(hidden)")
        return Truncator(" ".join(obj.msg.split())).chars(PREVIEW_LENGTH)

    @admin.display(description=_("text"))
    def text_for_moderators(self, obj: Message) -> str:
        return Truncator(" ".join(obj.msg.split())).chars(PREVIEW_LENGTH)

    def get_fields(self, request: HttpRequest, obj: Message | None = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.is_hidden and not request.user.has_perm(MODERATE_PERMISSION):
            # As in the transcript: only moderators see a hidden text and why it was hidden.
            fields = [f for f in fields if f not in ("msg", "hidden_by", "hidden_reason")]
        return fields

    @admin.display(description=_("conversation"))
    def room_link(self, obj: Message) -> str:
        url = reverse(f"{self.admin_site.name}:django_livechat_room_transcript", args=[obj.room_id])
        return format_html('<a href="{}">{}</a>', url, obj.room)


# ------------------------------------------------------------------------------------------------
# Visitors
# ------------------------------------------------------------------------------------------------


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    show_facets = admin.ShowFacets.NEVER  # facet counts would scan big tables
    list_display = (
        "username",
        "name",
        "email",
        "is_blocked",
        "room_count",
        "created_at",
        "last_activity_at",
    )
    list_filter = ("is_blocked",)
    search_fields = ("username", "name", "email")
    search_help_text = _("Username, name or email; or an exact visitor token.")
    sortable_by = ("username", "created_at")
    show_full_result_count = False
    list_per_page = 50
    actions = ["block_visitors", "unblock_visitors"]
    fields = (
        "username",
        "token",
        "name",
        "email",
        "phone",
        "is_blocked",
        "created_at",
        "updated_at",
        "last_activity_at",
        "conversations",
    )
    readonly_fields = (
        "username",
        "token",
        "is_blocked",
        "created_at",
        "updated_at",
        "last_activity_at",
        "conversations",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Visitor]:
        rooms = (
            Room.objects.filter(visitor=OuterRef("pk"))
            .order_by()
            .values("visitor")
            .annotate(n=Count("pk"))
            .values("n")
        )
        queryset: QuerySet[Visitor] = super().get_queryset(request)
        return queryset.annotate(
            room_total=Coalesce(Subquery(rooms, output_field=IntegerField()), Value(0))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Visitor], search_term: str
    ) -> tuple[QuerySet[Visitor], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        match = (
            Q(token=term) | Q(username=term) | Q(name__icontains=term) | Q(email__icontains=term)
        )
        return queryset.filter(match), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # visitors are registered by the API

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MODERATE_PERMISSION)

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # ``action_location`` exists from Django 6.1 on; older versions call get_actions(request).
        if action_location is None:
            actions: dict[str, Any] = super().get_actions(request)
        else:
            actions = getattr(super(), "get_actions")(request, action_location=action_location)  # noqa: B009
        # Django's bulk delete would list every message; erasure has its own counting page.
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("conversations"), ordering=None)
    def room_count(self, obj: Visitor) -> int:
        return int(getattr(obj, "room_total", 0))

    @admin.display(description=_("conversations"))
    def conversations(self, obj: Visitor) -> str:
        if obj.pk is None:
            return ""
        rooms = list(obj.rooms.order_by("-opened_at", "-pk")[:20])
        if not rooms:
            return gettext("None yet.")
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> &middot; {} &middot; {}</li>',
            (
                (
                    reverse(
                        f"{self.admin_site.name}:django_livechat_room_transcript", args=[room.pk]
                    ),
                    room.rid,
                    room.get_status_display(),
                    ngettext("%(n)d message", "%(n)d messages", room.message_count)
                    % {"n": room.message_count},
                )
                for room in rooms
            ),
        )
        all_url = (
            reverse(f"{self.admin_site.name}:django_livechat_room_changelist")
            + f"?visitor__id__exact={obj.pk}"
        )
        return format_html(
            '<ul class="livechat-rooms">{}</ul><a href="{}">{}</a>',
            rows,
            all_url,
            gettext("All conversations of this visitor"),
        )

    @admin.action(description=_("Block the selected visitors"), permissions=["moderate"])
    def block_visitors(self, request: HttpRequest, queryset: QuerySet[Visitor]) -> None:
        done = 0
        for visitor in queryset.filter(is_blocked=False):
            moderation.block_visitor(visitor, by=request.user)
            done += 1
        self.message_user(
            request,
            ngettext("%(n)d visitor blocked.", "%(n)d visitors blocked.", done) % {"n": done},
        )

    @admin.action(description=_("Unblock the selected visitors"), permissions=["moderate"])
    def unblock_visitors(self, request: HttpRequest, queryset: QuerySet[Visitor]) -> None:
        done = 0
        for visitor in queryset.filter(is_blocked=True):
            moderation.unblock_visitor(visitor, by=request.user)
            done += 1
        self.message_user(
            request,
            ngettext("%(n)d visitor unblocked.", "%(n)d visitors unblocked.", done) % {"n": done},
        )

    # -- custom pages ----------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/block/", wrap(self.block_view), name=f"{name}_block"),
            path("<path:object_id>/unblock/", wrap(self.unblock_view), name=f"{name}_unblock"),
            path("<path:object_id>/export/", wrap(self.export_view), name=f"{name}_export"),
            path("<path:object_id>/erase/", wrap(self.erase_view), name=f"{name}_erase"),
            *super().get_urls(),
        ]

    def _url(self, view: str, object_id: Any) -> str:
        name = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}"
        return reverse(name, args=[object_id])

    def _visitor(self, request: HttpRequest, object_id: str) -> Visitor:
        try:
            visitor = Visitor.objects.get(pk=unquote(object_id))
        except (Visitor.DoesNotExist, ValueError, ValidationError) as exc:
            raise Http404(gettext("No such visitor.")) from exc
        if not self.has_view_or_change_permission(request, visitor):
            raise PermissionDenied
        return visitor

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        extra_context.update(
            {
                "can_moderate": self.has_moderate_permission(request),
                "block_url": self._url("block", object_id),
                "unblock_url": self._url("unblock", object_id),
                "export_url": self._url("export", object_id),
                "erase_url": self._url("erase", object_id),
                "block_form": BlockForm(),
            }
        )
        return super().change_view(request, object_id, form_url, extra_context)

    @method_decorator(require_POST)
    def _set_blocked(self, request: HttpRequest, object_id: str, blocked: bool) -> HttpResponse:
        visitor = self._visitor(request, object_id)
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        form = BlockForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        action = moderation.block_visitor if blocked else moderation.unblock_visitor
        try:
            action(visitor, by=request.user, reason=reason)
        except moderation.AlreadyDone as exc:
            messages.warning(request, str(exc))
        else:
            messages.success(
                request,
                gettext("The visitor is blocked: the API refuses their messages.")
                if blocked
                else gettext("The visitor is unblocked."),
            )
        return HttpResponseRedirect(self._url("change", visitor.pk))

    def block_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._set_blocked(request, object_id, True)

    def unblock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._set_blocked(request, object_id, False)

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Everything stored about the visitor as a JSON download (a data-access request)."""
        visitor = self._visitor(request, object_id)
        response = HttpResponse(
            moderation.export_visitor_json(visitor), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="visitor-{visitor.pk}.json"'
        moderation.log_action(
            request.user, visitor, moderation.CHANGE, gettext("Exported the visitor's data.")
        )
        return response

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Django's page would list every message; the erase page counts them instead.
        return HttpResponseRedirect(self._url("erase", object_id))

    def erase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Erase the visitor with all conversations and messages, after a confirmation page."""
        visitor = self._visitor(request, object_id)
        if not self.has_delete_permission(request, visitor):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            counts = moderation.erase_visitor(visitor, by=request.user)
            messages.success(
                request,
                gettext(
                    "The visitor was erased with %(rooms)d conversation(s) and "
                    "%(messages)d message(s)."
                )
                % {"rooms": counts.rooms, "messages": counts.messages},
            )
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:django_livechat_visitor_changelist")
            )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Erase %(visitor)s?") % {"visitor": visitor},
            "subtitle": None,
            "opts": self.opts,
            "object": visitor,
            "original": visitor,
            "counts": moderation.erasure_counts(visitor),
            "change_url": self._url("change", visitor.pk),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/django_livechat/visitor/erase.html", context)


# ------------------------------------------------------------------------------------------------
# API tokens
# ------------------------------------------------------------------------------------------------


class AuthTokenAddForm(forms.ModelForm):
    class Meta:
        model = AuthToken
        fields = ("user", "name", "expires_at")


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "created_at", "expires_at", "last_used_at")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    search_fields = ("name",)
    show_full_result_count = False
    form = AuthTokenAddForm
    readonly_fields = ("user", "name", "created_at", "expires_at", "last_used_at")

    def get_fields(self, request: HttpRequest, obj: AuthToken | None = None) -> Any:
        if obj is None:
            return ("user", "name", "expires_at")
        return self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: AuthToken | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False  # a token is created (shown once), used, and revoked: never edited

    def save_model(self, request: HttpRequest, obj: AuthToken, form: Any, change: bool) -> None:
        if change:  # pragma: no cover - change is refused above
            raise PermissionDenied
        token, raw = AuthToken.objects.create_token(
            obj.user, name=obj.name, expires_at=obj.expires_at
        )
        obj.pk = token.pk
        obj.digest = token.digest
        obj.created_at = token.created_at
        obj.expires_at = token.expires_at
        obj._state.adding = False
        obj._state.db = token._state.db
        request._livechat_raw_token = raw  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: AuthToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw = getattr(request, "_livechat_raw_token", None)
        if raw is None or IS_POPUP_VAR in request.POST:  # pragma: no cover - defensive
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("API token created"),
            "subtitle": None,
            "opts": self.opts,
            "token": obj,
            "raw_token": raw,
            "changelist_url": reverse(
                f"{self.admin_site.name}:django_livechat_authtoken_changelist"
            ),
        }
        request.current_app = self.admin_site.name
        response = TemplateResponse(
            request, "admin/django_livechat/authtoken/token_created.html", context
        )
        response["Cache-Control"] = "no-store"
        return response
