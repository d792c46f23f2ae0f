"""The admin inbox: conversation list, transcript, replies, closing, exports, tokens, queries."""

from __future__ import annotations

import csv
import io
import json
import zoneinfo
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_livechat import moderation, services
from django_livechat.admin import TRANSCRIPT_PAGE_SIZE
from django_livechat.models import AuthToken, Message, Room, Visitor, hash_token
from tests.admin_fixtures import MODERATOR_PERMS, VIEWER_PERMS, login, post, staff
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def transcript_url(room: Room, **query: Any) -> str:
    url = reverse("admin:django_livechat_room_transcript", args=[room.pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def body(response: Any) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.fixture
def superuser() -> Any:
    return UserFactory(is_staff=True, is_superuser=True, username="boss")


@pytest.fixture
def viewer() -> Any:
    return staff(*VIEWER_PERMS, username="viewer")


@pytest.fixture
def moderator() -> Any:
    return staff(*MODERATOR_PERMS, username="moderator")


# ------------------------------------------------------------------------------------------------
# Conversation list
# ------------------------------------------------------------------------------------------------

CHANGELIST = "/admin/django_livechat/room/"


def test_list_shows_visitor_status_count_preview_and_transcript_link(superuser: Any) -> None:
    posted = post("tok-a", "first", "the  last\nmessage")
    Visitor.objects.filter(pk=posted.visitor.pk).update(name="Ada Lovelace")
    response = login(superuser).get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    room = posted.room
    assert room.rid in html
    assert "Ada Lovelace" in html
    assert "the last message" in html  # preview of the last message, whitespace collapsed
    assert transcript_url(room) in html
    row = response.context["cl"].result_list[0]
    assert row.message_count == 2


def test_list_preview_of_a_hidden_last_message_is_not_shown(superuser: Any, moderator: Any) -> None:
    posted = post("tok-a", "visible", "secret insult")
    moderation.hide_message(posted.messages[-1], by=moderator, reason="insult")
    html = login(superuser).get(CHANGELIST).content.decode()
    assert "secret insult" not in html
    assert "(hidden)" in html


def test_list_search_by_username_name_email_exact_token_and_rid(superuser: Any) -> None:
    a = post("token-alpha", "hi").room
    b = post("token-beta", "hi").room
    Visitor.objects.filter(pk=a.visitor_id).update(name="Grace Hopper", email="grace@navy.mil")
    client = login(superuser)

    def found(term: str) -> set[str]:
        response = client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        return {room.rid for room in response.context["cl"].result_list}

    assert found("hopper") == {a.rid}
    assert found("navy.mil") == {a.rid}
    assert found(b.visitor.username) == {b.rid}
    assert found("token-beta") == {b.rid}
    assert found("token-") == set()  # tokens match exactly only
    assert found(a.rid) == {a.rid}
    assert found(a.rid[:8]) == set()  # rids match exactly only


def test_list_filters_status_agent_blocked_and_date(superuser: Any, moderator: Any) -> None:
    open_room = post("tok-open", "hi").room
    closed = post("tok-closed", "hi").room
    services.close_room(room=closed)
    served = post("tok-served", "hi").room
    services.reply_as_agent(room=served, agent=moderator, text="hello")
    blocked = post("tok-blocked", "hi").room
    moderation.block_visitor(blocked.visitor)
    old = post("tok-old", "hi").room
    Room.objects.filter(pk=old.pk).update(opened_at=timezone.now() - timedelta(days=800))
    client = login(superuser)

    def rids(**params: Any) -> set[str]:
        response = client.get(CHANGELIST, params)
        assert response.status_code == 200, response.content
        return {room.rid for room in response.context["cl"].result_list}

    assert closed.rid not in rids(status__exact="open")
    assert open_room.rid in rids(status__exact="open")
    assert rids(status__exact="closed") == {closed.rid}
    assert rids(serving_agent__id__exact=moderator.pk) == {served.rid}
    assert rids(visitor__is_blocked__exact="1") == {blocked.rid}
    year = timezone.localtime(timezone.now()).year
    assert old.rid not in rids(opened_at__year=year)
    assert open_room.rid in rids(opened_at__year=year)


def test_serving_agent_filter_offers_only_agents_that_appear(
    superuser: Any, moderator: Any
) -> None:
    idle = staff("add_message", username="idle-agent")
    room = post("tok", "hi").room
    services.reply_as_agent(room=room, agent=moderator, text="hello")
    html = login(superuser).get(CHANGELIST).content.decode()
    assert f"serving_agent__id__exact={moderator.pk}" in html
    assert f"serving_agent__id__exact={idle.pk}" not in html


def test_list_is_tuned_for_big_tables() -> None:
    from django.contrib import admin

    room_admin = admin.site._registry[Room]
    assert room_admin.show_full_result_count is False
    assert room_admin.date_hierarchy == "opened_at"
    index_fields = {tuple(index.fields) for index in Room._meta.indexes}
    # Every sortable column is indexed (rid is unique).
    assert ("-opened_at", "-id") in index_fields
    assert ("-last_message_at",) in index_fields
    assert ("-message_count", "-id") in index_fields
    assert ("status", "-opened_at") in index_fields
    assert set(room_admin.sortable_by) <= {
        "rid",
        "status",
        "message_count",
        "last_activity",  # orders by last_message_at
        "opened",  # orders by opened_at
    }
    assert any(
        index.name == "livechat_visitor_blocked" for index in Visitor._meta.indexes
    )  # the blocked-visitors filter


def test_every_sortable_column_sorts(superuser: Any) -> None:
    post("tok-a", "hi")
    post("tok-b", "hi", "there")
    client = login(superuser)
    for column in range(1, 10):
        for order in (str(column), f"-{column}"):
            response = client.get(CHANGELIST, {"o": order})
            assert response.status_code == 200, order
            assert len(response.context["cl"].result_list) == 2


def _list_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST, {"status__exact": "open"})
        assert response.status_code == 200
        response.content  # noqa: B018  (rendered)
    return len(queries)


def test_list_query_count_is_constant(superuser: Any, moderator: Any) -> None:
    client = login(superuser)
    for i in range(10):
        room = post(f"small-{i}", "hello").room
    services.reply_as_agent(room=room, agent=moderator, text="hi")
    small = _list_queries(client)
    # 1000 more messages over 60 more rooms (more than a page), some agents, one blocked visitor.
    for i in range(60):
        room = post(f"big-{i}", *[f"m{j}" for j in range(17)]).room
        if i % 7 == 0:
            services.reply_as_agent(room=room, agent=staff(username=f"agent-{i}"), text="hi")
    moderation.block_visitor(room.visitor)
    assert Message.objects.count() >= 1000
    big = _list_queries(client)
    assert small == big


# ------------------------------------------------------------------------------------------------
# Transcript
# ------------------------------------------------------------------------------------------------


def test_transcript_shows_visitor_agent_and_system_messages_apart(
    superuser: Any, settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Paris"
    posted = post("tok", "hello from visitor")
    room = posted.room
    services.reply_as_agent(room=room, agent=superuser, text="hello from agent")
    services.append_messages(
        Room.objects.get(pk=room.pk), ["system notice"], author_kind=Message.Author.SYSTEM
    )
    response = login(superuser).get(transcript_url(room))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="livechat-msg livechat-visitor"' in html
    assert 'class="livechat-msg livechat-agent"' in html
    assert 'class="livechat-msg livechat-system"' in html
    assert html.index("hello from visitor") < html.index("hello from agent")
    assert html.index("hello from agent") < html.index("system notice")
    # Times in the site's time zone (Paris is UTC+1 or +2, shown as CET/CEST).
    local = timezone.localtime(posted.messages[0].ts, zoneinfo.ZoneInfo("Europe/Paris"))
    assert local.strftime("%Y-%m-%d") in html
    assert local.strftime("%H:%M") in html
    assert "CET" in html or "CEST" in html


def test_transcript_is_linked_from_list_and_change_page(superuser: Any) -> None:
    room = post("tok", "hi").room
    client = login(superuser)
    assert transcript_url(room) in client.get(CHANGELIST).content.decode()
    change = client.get(reverse("admin:django_livechat_room_change", args=[room.pk]))
    assert transcript_url(room) in change.content.decode()


def test_transcript_paginates_and_opens_on_the_last_page(superuser: Any) -> None:
    room = post("tok", *[f"msg-{i:04d}" for i in range(250)]).room
    client = login(superuser)
    last = client.get(transcript_url(room)).content.decode()
    assert "msg-0249" in last and "msg-0200" in last and "msg-0199" not in last
    first = client.get(transcript_url(room, p=1)).content.decode()
    size = TRANSCRIPT_PAGE_SIZE
    assert "msg-0000" in first and f"msg-{size - 1:04d}" in first and f"msg-{size:04d}" not in first
    assert client.get(transcript_url(room, p="nonsense")).status_code == 200
    assert client.get(transcript_url(room, p=999)).status_code == 200  # clamps to the last page


def test_transcript_of_unknown_room_is_404(superuser: Any) -> None:
    client = login(superuser)
    assert client.get("/admin/django_livechat/room/999999/transcript/").status_code == 404
    assert client.get("/admin/django_livechat/room/abc/transcript/").status_code == 404


def _transcript_queries(client: Client, room: Room, page: int | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(transcript_url(room, **({"p": page} if page else {})))
        assert response.status_code == 200
    return len(queries)


def test_transcript_query_count_is_constant(superuser: Any, moderator: Any) -> None:
    client = login(superuser)
    small = post("small", *[f"m{i}" for i in range(9)]).room
    services.reply_as_agent(room=small, agent=moderator, text="agent")
    moderation.hide_message(Message.objects.filter(room=small).first(), by=moderator, reason="x")
    big = post("big", *[f"m{i}" for i in range(999)]).room
    services.reply_as_agent(room=big, agent=moderator, text="agent")
    for message in Message.objects.filter(room=big)[:5]:
        moderation.hide_message(message, by=moderator, reason="x")
    assert Room.objects.get(pk=small.pk).message_count == 10
    assert Room.objects.get(pk=big.pk).message_count == 1000
    count = _transcript_queries(client, small)
    assert _transcript_queries(client, big) == count
    assert _transcript_queries(client, big, page=1) == count


# ------------------------------------------------------------------------------------------------
# Answering and closing
# ------------------------------------------------------------------------------------------------


def reply_url(room: Room) -> str:
    return reverse("admin:django_livechat_room_reply", args=[room.pk])


def close_url(room: Room) -> str:
    return reverse("admin:django_livechat_room_close", args=[room.pk])


def test_reply_is_stored_as_agent_after_the_last_message(moderator: Any) -> None:
    posted = post("tok", "question")
    room = posted.room
    response = login(moderator).post(reply_url(room), {"text": "  the answer  "})
    assert response.status_code == 302
    reply = Message.objects.filter(room=room).order_by("ts").last()
    assert reply is not None
    assert response["Location"].endswith(f"#m-{reply.public_id}")
    assert reply.author_kind == Message.Author.AGENT
    assert reply.agent == moderator
    assert reply.msg == "the answer"
    assert reply.ts > posted.messages[-1].ts
    room.refresh_from_db()
    assert room.message_count == 2
    assert room.serving_agent == moderator
    entry = LogEntry.objects.get(object_id=str(reply.pk))
    assert entry.action_flag == ADDITION and entry.user == moderator


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_reply_is_refused_and_nothing_is_stored(moderator: Any, text: str) -> None:
    room = post("tok", "question").room
    response = login(moderator).post(reply_url(room), {"text": text})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Message.objects.count() == 1


def test_too_long_reply_is_refused(moderator: Any, settings: Any) -> None:
    settings.DJANGO_LIVECHAT = {"MAX_MESSAGE_LENGTH": 10}
    room = post("tok", "question").room
    response = login(moderator).post(reply_url(room), {"text": "x" * 11})
    assert response.status_code == 400
    assert Message.objects.count() == 1


def test_reply_to_a_closed_room_is_refused(moderator: Any) -> None:
    room = post("tok", "question").room
    services.close_room(room=room)
    client = login(moderator)
    assert "Send reply" not in client.get(transcript_url(room)).content.decode()
    response = client.post(reply_url(room), {"text": "late"}, follow=True)
    assert "The conversation is closed" in response.content.decode()
    assert Message.objects.count() == 1


def test_close_with_comment(moderator: Any) -> None:
    room = post("tok", "question").room
    response = login(moderator).post(close_url(room), {"comment": "solved"})
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.status == Room.Status.CLOSED
    assert room.close_comment == "solved"
    assert room.closed_by == moderator
    entry = LogEntry.objects.get(object_id=str(room.pk), content_type__model="room")
    assert entry.action_flag == CHANGE and "solved" in entry.get_change_message()


def test_custom_views_refuse_get_for_state_changes(moderator: Any) -> None:
    room = post("tok", "question").room
    message = Message.objects.get()
    client = login(moderator)
    for url in (
        reply_url(room),
        close_url(room),
        reverse("admin:django_livechat_room_hide", args=[room.pk, message.pk]),
        reverse("admin:django_livechat_room_unhide", args=[room.pk, message.pk]),
        reverse("admin:django_livechat_visitor_block", args=[room.visitor_id]),
        reverse("admin:django_livechat_visitor_unblock", args=[room.visitor_id]),
    ):
        assert client.get(url).status_code == 405, url


def test_state_changes_need_the_csrf_token(moderator: Any) -> None:
    room = post("tok", "question").room
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    assert client.post(reply_url(room), {"text": "x"}).status_code == 403
    assert client.post(close_url(room), {"comment": ""}).status_code == 403
    assert Message.objects.count() == 1
    assert Room.objects.get().is_open


# ------------------------------------------------------------------------------------------------
# Transcript exports
# ------------------------------------------------------------------------------------------------


def export_url(room: Room, fmt: str) -> str:
    return reverse("admin:django_livechat_room_transcript_export", args=[room.pk, fmt])


@pytest.fixture
def exported_room(moderator: Any) -> Room:
    room = post("tok", "hello", '=HYPERLINK("http://evil")', XSS, "rude").room
    services.reply_as_agent(room=room, agent=moderator, text="agent says hi")
    moderation.hide_message(Message.objects.get(msg="rude"), by=moderator, reason="insult")
    return room


def test_export_txt(superuser: Any, exported_room: Room) -> None:
    response = login(superuser).get(export_url(exported_room, "txt"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="transcript-{exported_room.rid}.txt"'
    )
    text = body(response)
    lines = [line for line in text.splitlines() if line.startswith("[")]
    assert len(lines) == 5
    assert lines[0].endswith(": hello")
    assert XSS in text  # text stays text: plain-text download, not HTML
    assert "[hidden: insult] rude" in text
    assert "agent says hi" in lines[-1] and "moderator" in lines[-1]


def test_export_csv(superuser: Any, exported_room: Room) -> None:
    response = login(superuser).get(export_url(exported_room, "csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [row["author"] for row in rows] == ["visitor"] * 4 + ["agent"]
    assert rows[0]["msg"] == "hello"
    assert rows[1]["msg"] == '\'=HYPERLINK("http://evil")'  # no formula for spreadsheets
    assert rows[2]["msg"] == XSS
    assert rows[3]["hidden"] == "true" and rows[3]["hidden_reason"] == "insult"
    assert rows[0]["ts"].endswith("Z")


def test_export_json(superuser: Any, exported_room: Room) -> None:
    response = login(superuser).get(export_url(exported_room, "json"))
    assert response["Content-Type"] == "application/json"
    data = json.loads(body(response))
    assert data["rid"] == exported_room.rid
    assert [m["msg"] for m in data["messages"]] == [
        "hello",
        '=HYPERLINK("http://evil")',
        XSS,
        "rude",
        "agent says hi",
    ]
    assert data["messages"][3]["hidden"] is True
    assert data["messages"][3]["hiddenReason"] == "insult"


def test_exports_hide_hidden_texts_from_non_moderators(viewer: Any, exported_room: Room) -> None:
    client = login(viewer)
    for fmt in ("txt", "csv", "json"):
        text = body(client.get(export_url(exported_room, fmt)))
        assert "rude" not in text, fmt
        assert "insult" not in text, fmt
        assert "[hidden by a moderator]" in text, fmt


def test_export_of_unknown_format_is_404(superuser: Any, exported_room: Room) -> None:
    assert login(superuser).get(export_url(exported_room, "xml")).status_code == 404


def test_empty_room_exports(superuser: Any) -> None:
    room = Room.objects.create(visitor=Visitor.objects.create(token="t", username="guest-x"))
    client = login(superuser)
    assert json.loads(body(client.get(export_url(room, "json"))))["messages"] == []
    assert "No messages yet." in client.get(transcript_url(room)).content.decode()


# ------------------------------------------------------------------------------------------------
# XSS: message text and visitor fields render as text everywhere
# ------------------------------------------------------------------------------------------------


def test_html_in_messages_and_names_is_escaped_everywhere(superuser: Any) -> None:
    posted = post("tok", XSS)
    Visitor.objects.filter(pk=posted.visitor.pk).update(name=XSS, email="x@example.com")
    room = posted.room
    client = login(superuser)
    pages = {
        "list": client.get(CHANGELIST),
        "transcript": client.get(transcript_url(room)),
        "change": client.get(reverse("admin:django_livechat_room_change", args=[room.pk])),
        "visitors": client.get("/admin/django_livechat/visitor/"),
        "visitor": client.get(
            reverse("admin:django_livechat_visitor_change", args=[posted.visitor.pk])
        ),
        "messages": client.get("/admin/django_livechat/message/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "<script>alert" not in html, name
        assert "<img src=x" not in html, name
        assert "&lt;script&gt;alert" in html or "&lt;img src=x" in html, name


# ------------------------------------------------------------------------------------------------
# Tokens
# ------------------------------------------------------------------------------------------------


def test_token_created_in_admin_is_shown_once_and_stored_hashed(superuser: Any) -> None:
    owner = UserFactory(username="integration")
    client = login(superuser)
    form = client.get("/admin/django_livechat/authtoken/add/").content.decode()
    assert 'name="user"' in form and "vForeignKeyRawIdAdminField" in form  # raw_id_fields
    response = client.post(
        "/admin/django_livechat/authtoken/add/", {"user": owner.pk, "name": "sms gateway"}
    )
    assert response.status_code == 200
    raw = response.context["raw_token"]
    html = response.content.decode()
    assert raw in html
    assert f"X-User-Id: {owner.pk}" in html
    token = AuthToken.objects.get()
    assert token.user == owner and token.name == "sms gateway"
    assert token.digest == hash_token(raw) != raw
    assert "no-store" in response["Cache-Control"]
    # Afterwards only name, owner, created, expires and last used are shown.
    change = client.get(reverse("admin:django_livechat_authtoken_change", args=[token.pk]))
    page = change.content.decode()
    assert raw not in page and token.digest not in page
    assert "sms gateway" in page
    listing = client.get("/admin/django_livechat/authtoken/").content.decode()
    assert raw not in listing and token.digest not in listing and "sms gateway" in listing
    # The token works against the API.
    api = Client()
    me = api.get("/api/v1/me", HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(owner.pk))
    assert me.status_code == 200


def test_token_revoked_in_admin_stops_working(superuser: Any) -> None:
    owner = UserFactory(username="integration")
    token, raw = AuthToken.objects.create_token(owner, name="old")
    client = login(superuser)
    response = client.post(
        reverse("admin:django_livechat_authtoken_delete", args=[token.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not AuthToken.objects.exists()
    me = Client().get("/api/v1/me", HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(owner.pk))
    assert me.status_code == 401


def test_token_with_expiry(superuser: Any) -> None:
    owner = UserFactory(username="integration")
    response = login(superuser).post(
        "/admin/django_livechat/authtoken/add/",
        {"user": owner.pk, "name": "", "expires_at_0": "2099-01-01", "expires_at_1": "10:00:00"},
    )
    assert response.status_code == 200, response.content
    token = AuthToken.objects.get()
    assert token.expires_at is not None and token.expires_at.year == 2099


def test_change_room_assigns_the_serving_agent(moderator: Any, viewer: Any) -> None:
    room = post("tok", "hi").room
    agent = staff("add_message", username="agent-x")
    url = reverse("admin:django_livechat_room_change", args=[room.pk])
    assert login(viewer).post(url, {"serving_agent": agent.pk}).status_code == 403
    response = login(moderator).post(url, {"serving_agent": agent.pk})
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.serving_agent == agent
    assert room.status == Room.Status.OPEN and room.message_count == 1  # read-only fields kept


def test_change_visitor_corrects_contact_fields_only(moderator: Any, viewer: Any) -> None:
    visitor = post("tok", "hi").visitor
    url = reverse("admin:django_livechat_visitor_change", args=[visitor.pk])
    data = {"name": "Ada", "email": "ada@example.com", "phone": "+1 555", "is_blocked": "on"}
    assert login(viewer).post(url, data).status_code == 403
    assert login(moderator).post(url, data).status_code == 302
    visitor.refresh_from_db()
    assert (visitor.name, visitor.email, visitor.phone) == ("Ada", "ada@example.com", "+1 555")
    assert visitor.token == "tok" and not visitor.is_blocked  # blocking has its own logged action
