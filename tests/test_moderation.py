"""Moderation: hiding messages, blocking visitors, data export and erasure (admin and commands)."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.core.management import CommandError, call_command
from django.urls import reverse

from django_livechat import moderation, services
from django_livechat.models import Message, Room, Visitor
from tests.admin_fixtures import MODERATOR_PERMS, login, post, staff

pytestmark = pytest.mark.django_db

MESSAGES_URL = "/api/v1/livechat/messages"


def hide_url(message: Message) -> str:
    return reverse("admin:django_livechat_room_hide", args=[message.room_id, message.pk])


def unhide_url(message: Message) -> str:
    return reverse("admin:django_livechat_room_unhide", args=[message.room_id, message.pk])


def transcript_url(room: Room) -> str:
    return reverse("admin:django_livechat_room_transcript", args=[room.pk])


def visitor_url(visitor: Visitor, view: str) -> str:
    return reverse(f"admin:django_livechat_visitor_{view}", args=[visitor.pk])


@pytest.fixture
def moderator() -> Any:
    return staff(*MODERATOR_PERMS, username="moderator")


@pytest.fixture
def viewer() -> Any:
    return staff("view_room", "view_message", "view_visitor", username="viewer")


# ------------------------------------------------------------------------------------------------
# Hiding messages
# ------------------------------------------------------------------------------------------------


def test_hide_keeps_the_text_and_records_who_when_why(moderator: Any) -> None:
    message = post("tok", "you idiot").messages[0]
    response = login(moderator).post(hide_url(message), {"reason": "insult", "p": "1"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"?p=1#m-{message.public_id}")
    message.refresh_from_db()
    assert message.is_hidden
    assert message.msg == "you idiot"  # never edited
    assert message.hidden_by == moderator
    assert message.hidden_reason == "insult"
    entry = LogEntry.objects.get(object_id=str(message.pk), content_type__model="message")
    assert entry.action_flag == CHANGE and entry.user == moderator
    assert "insult" in entry.get_change_message()


def test_moderation_shows_in_the_message_history(moderator: Any) -> None:
    message = post("tok", "you idiot").messages[0]
    client = login(moderator)
    client.post(hide_url(message), {"reason": "insult"})
    client.post(unhide_url(message), {"reason": "was a quote"})
    history = client.get(reverse("admin:django_livechat_message_history", args=[message.pk]))
    assert history.status_code == 200
    html = history.content.decode()
    assert "Hid the message. Reason: insult" in html
    assert "was a quote" in html


def test_hide_needs_a_reason(moderator: Any) -> None:
    message = post("tok", "hello").messages[0]
    response = login(moderator).post(hide_url(message), {"reason": "  "}, follow=True)
    assert "Give a reason" in response.content.decode()
    message.refresh_from_db()
    assert not message.is_hidden
    assert not LogEntry.objects.exists()
    with pytest.raises(ValueError):
        moderation.hide_message(message, by=moderator, reason="")


def test_hide_twice_and_unhide_a_visible_message_change_nothing(moderator: Any) -> None:
    message = post("tok", "hello").messages[0]
    moderation.hide_message(message, by=moderator, reason="first")
    with pytest.raises(moderation.AlreadyDone):
        moderation.hide_message(message, by=moderator, reason="second")
    message.refresh_from_db()
    assert message.hidden_reason == "first"
    moderation.unhide_message(message, by=moderator)
    with pytest.raises(moderation.AlreadyDone):
        moderation.unhide_message(message, by=moderator)


def test_unhide_shows_the_message_again(moderator: Any) -> None:
    message = post("tok", "hello").messages[0]
    moderation.hide_message(message, by=moderator, reason="oops")
    response = login(moderator).post(unhide_url(message), {"reason": ""})
    assert response.status_code == 302
    message.refresh_from_db()
    assert not message.is_hidden and message.hidden_by is None and message.hidden_reason == ""
    assert message.msg == "hello"
    messages = LogEntry.objects.filter(object_id=str(message.pk)).order_by("pk")
    assert [e.get_change_message() for e in messages][-1].startswith("Unhid the message")


def test_moderators_see_hidden_messages_marked_viewers_do_not_see_their_text(
    moderator: Any, viewer: Any
) -> None:
    posted = post("tok", "kind words", "rude words")
    moderation.hide_message(posted.messages[1], by=moderator, reason="rudeness")
    as_moderator = login(moderator).get(transcript_url(posted.room)).content.decode()
    assert "rude words" in as_moderator
    assert "livechat-hidden" in as_moderator
    assert "rudeness" in as_moderator
    assert "Unhide" in as_moderator and "Hide message" in as_moderator
    as_viewer = login(viewer).get(transcript_url(posted.room)).content.decode()
    assert "kind words" in as_viewer
    assert "rude words" not in as_viewer
    assert "rudeness" not in as_viewer
    assert "Hidden by a moderator." in as_viewer
    # No moderation, reply or close controls for a viewer.
    for control in ("Hide message", "Unhide", "Send reply", "Close conversation"):
        assert control not in as_viewer


def test_message_admin_is_read_only_and_hides_hidden_texts_from_viewers(
    moderator: Any, viewer: Any
) -> None:
    message = post("tok", "rude words").messages[0]
    moderation.hide_message(message, by=moderator, reason="rudeness")
    url = reverse("admin:django_livechat_message_change", args=[message.pk])
    as_viewer = login(viewer).get(url).content.decode()
    assert "rude words" not in as_viewer and "rudeness" not in as_viewer
    assert "rude words" not in login(viewer).get("/admin/django_livechat/message/").content.decode()
    as_moderator = login(moderator).get(url).content.decode()
    assert "rude words" in as_moderator and "rudeness" in as_moderator
    response = login(moderator).post(url, {"msg": "edited"})
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.msg == "rude words"


def test_hide_a_message_of_another_room_is_404(moderator: Any) -> None:
    a = post("tok-a", "a").room
    other = post("tok-b", "b").messages[0]
    url = reverse("admin:django_livechat_room_hide", args=[a.pk, other.pk])
    assert login(moderator).post(url, {"reason": "x"}).status_code == 404
    other.refresh_from_db()
    assert not other.is_hidden


# ------------------------------------------------------------------------------------------------
# Blocking visitors
# ------------------------------------------------------------------------------------------------


def test_block_in_admin_then_the_api_refuses_and_stores_nothing(moderator: Any, api: Any) -> None:
    posted = post("tok", "hello")
    visitor = posted.visitor
    response = login(moderator).post(visitor_url(visitor, "block"), {"reason": "spam"})
    assert response.status_code == 302
    visitor.refresh_from_db()
    assert visitor.is_blocked
    entry = LogEntry.objects.get(object_id=str(visitor.pk), content_type__model="visitor")
    assert "Blocked the visitor. Reason: spam" in entry.get_change_message()

    before = (Message.objects.count(), Room.objects.count(), Visitor.objects.count())
    reply = api.post(
        MESSAGES_URL, {"visitor": {"token": "tok"}, "messages": [{"msg": "more spam"}]}, "json"
    )
    assert reply.status_code == 403
    assert reply.json()["errorType"] == "error-visitor-blocked"
    assert (Message.objects.count(), Room.objects.count(), Visitor.objects.count()) == before
    # Also with the room closed: no new room is opened for a blocked visitor.
    services.close_room(room=posted.room)
    reply = api.post(
        MESSAGES_URL, {"visitor": {"token": "tok"}, "messages": [{"msg": "again"}]}, "json"
    )
    assert reply.status_code == 403
    assert (Message.objects.count(), Room.objects.count()) == before[:2]


def test_unblock_in_admin(moderator: Any, api: Any) -> None:
    visitor = post("tok", "hello").visitor
    moderation.block_visitor(visitor)
    response = login(moderator).post(visitor_url(visitor, "unblock"), {})
    assert response.status_code == 302
    visitor.refresh_from_db()
    assert not visitor.is_blocked
    reply = api.post(
        MESSAGES_URL, {"visitor": {"token": "tok"}, "messages": [{"msg": "back"}]}, "json"
    )
    assert reply.status_code == 200


def test_block_and_unblock_actions_on_the_visitor_list(moderator: Any, viewer: Any) -> None:
    a = post("tok-a", "hi").visitor
    b = post("tok-b", "hi").visitor
    changelist = "/admin/django_livechat/visitor/"
    response = login(moderator).post(
        changelist, {"action": "block_visitors", "_selected_action": [a.pk, b.pk]}
    )
    assert response.status_code == 302
    assert Visitor.objects.filter(is_blocked=True).count() == 2
    assert LogEntry.objects.filter(content_type__model="visitor").count() == 2
    # A viewer is not offered the actions, and posting one anyway does nothing.
    page = login(viewer).get(changelist).content.decode()
    assert "block_visitors" not in page
    login(viewer).post(changelist, {"action": "unblock_visitors", "_selected_action": [a.pk]})
    assert Visitor.objects.filter(is_blocked=True).count() == 2


def test_visitor_page_lists_rooms_and_blocks(moderator: Any) -> None:
    posted = post("tok", "hi")
    services.close_room(room=posted.room)
    second = post("tok", "again").room
    html = login(moderator).get(visitor_url(posted.visitor, "change")).content.decode()
    assert posted.room.rid in html and second.rid in html
    assert transcript_url(second) in html
    assert "Block visitor" in html
    assert f"?visitor__id__exact={posted.visitor.pk}" in html
    rooms = login(moderator).get(
        f"/admin/django_livechat/room/?visitor__id__exact={posted.visitor.pk}"
    )
    assert rooms.status_code == 200
    assert {r.rid for r in rooms.context["cl"].result_list} == {posted.room.rid, second.rid}


def test_visitor_list_counts_rooms_and_searches(moderator: Any) -> None:
    posted = post("tok-visible", "hi")
    services.close_room(room=posted.room)
    post("tok-visible", "again")
    post("tok-other", "hi")
    Visitor.objects.filter(token="tok-visible").update(name="Alan Turing", email="alan@bletchley")
    client = login(moderator)
    response = client.get("/admin/django_livechat/visitor/", {"q": "turing"})
    (row,) = response.context["cl"].result_list
    assert row.token == "tok-visible" and row.room_total == 2
    response = client.get("/admin/django_livechat/visitor/", {"q": "tok-other"})
    assert [v.token for v in response.context["cl"].result_list] == ["tok-other"]
    response = client.get("/admin/django_livechat/visitor/", {"q": "tok-"})
    assert list(response.context["cl"].result_list) == []
    response = client.get("/admin/django_livechat/visitor/", {"is_blocked__exact": "0"})
    assert len(response.context["cl"].result_list) == 2


# ------------------------------------------------------------------------------------------------
# Data export (data-access requests)
# ------------------------------------------------------------------------------------------------


def _visitor_with_history(moderator: Any) -> Visitor:
    posted = post("tok-export", "first", "<b>bold</b>")
    Visitor.objects.filter(pk=posted.visitor.pk).update(name="Ada", email="ada@example.com")
    services.reply_as_agent(room=posted.room, agent=moderator, text="hello Ada")
    moderation.hide_message(posted.messages[1], by=moderator, reason="markup")
    services.close_room(room=posted.room)
    post("tok-export", "second room")
    post("someone-else", "not theirs")
    return Visitor.objects.get(token="tok-export")


def test_export_visitor_data(moderator: Any) -> None:
    visitor = _visitor_with_history(moderator)
    data = moderation.export_visitor_data(visitor)
    assert data["visitor"]["token"] == "tok-export"
    assert data["visitor"]["name"] == "Ada" and data["visitor"]["email"] == "ada@example.com"
    assert [len(room["messages"]) for room in data["rooms"]] == [3, 1]
    first = data["rooms"][0]
    assert first["status"] == "closed"
    assert [m["msg"] for m in first["messages"]] == ["first", "<b>bold</b>", "hello Ada"]
    assert [m["author"] for m in first["messages"]] == ["visitor", "visitor", "agent"]
    assert first["messages"][1]["hidden"] is True
    assert "not theirs" not in json.dumps(data)
    assert "moderator" not in json.dumps(data)  # staff identities are not the visitor's data


def test_export_visitor_in_admin(moderator: Any, viewer: Any) -> None:
    visitor = _visitor_with_history(moderator)
    response = login(viewer).get(visitor_url(visitor, "export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content) == moderation.export_visitor_data(visitor)
    assert LogEntry.objects.filter(object_id=str(visitor.pk), user=viewer).exists()


def test_export_command(moderator: Any, capsys: Any, tmp_path: Any) -> None:
    visitor = _visitor_with_history(moderator)
    call_command("livechat_export_visitor", "tok-export")
    out = capsys.readouterr().out
    assert json.loads(out) == moderation.export_visitor_data(visitor)
    target = tmp_path / "out.json"
    call_command("livechat_export_visitor", "tok-export", "--output", str(target))
    assert json.loads(target.read_text()) == moderation.export_visitor_data(visitor)
    with pytest.raises(CommandError, match="No visitor"):
        call_command("livechat_export_visitor", "unknown")


# ------------------------------------------------------------------------------------------------
# Erasure (erasure requests)
# ------------------------------------------------------------------------------------------------


def _left(token: str) -> tuple[int, int, int]:
    return (
        Visitor.objects.filter(token=token).count(),
        Room.objects.filter(visitor__token=token).count(),
        Message.objects.filter(room__visitor__token=token).count(),
    )


def test_erase_in_admin_asks_first_then_deletes_everything(moderator: Any) -> None:
    visitor = _visitor_with_history(moderator)
    pk, username = visitor.pk, visitor.username
    client = login(moderator)
    # Django's delete link leads to the erase page (which counts instead of listing).
    assert client.get(visitor_url(visitor, "delete"))["Location"] == visitor_url(visitor, "erase")
    page = client.get(visitor_url(visitor, "erase"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "2 conversations" in html and "4 messages" in html
    client.post(visitor_url(visitor, "erase"), {})  # no confirmation: nothing happens
    assert _left("tok-export") == (1, 2, 4)
    response = client.post(visitor_url(visitor, "erase"), {"confirm": "yes"})
    assert response.status_code == 302
    assert _left("tok-export") == (0, 0, 0)
    assert _left("someone-else") == (1, 1, 1)
    entry = LogEntry.objects.get(action_flag=DELETION)
    assert entry.object_id == str(pk) and entry.object_repr == username
    assert "Ada" not in entry.object_repr + entry.get_change_message()


def test_erase_command(moderator: Any) -> None:
    _visitor_with_history(moderator)
    with pytest.raises(CommandError, match="No visitor"):
        call_command("livechat_erase_visitor", "unknown", "--yes")
    with mock.patch("builtins.input", return_value="no"), pytest.raises(CommandError):
        call_command("livechat_erase_visitor", "tok-export")
    assert _left("tok-export") == (1, 2, 4)
    with mock.patch("builtins.input", return_value="yes"):
        call_command("livechat_erase_visitor", "tok-export")
    assert _left("tok-export") == (0, 0, 0)
    post("tok-2", "x")
    call_command("livechat_erase_visitor", "tok-2", "--yes")
    assert _left("tok-2") == (0, 0, 0)
    assert _left("someone-else") == (1, 1, 1)
