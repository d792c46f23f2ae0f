"""The admin inbox driven in a real browser (Playwright + Debian's Chromium) against a live server.

A staff member logs in, opens the conversation list, filters and searches it, reads a transcript,
answers, hides a message with a reason and blocks the visitor. Screenshots of the list and the
transcript are saved into docs/ (docs/admin-conversations.png, docs/admin-transcript.png).

Chromium must be at /usr/bin/chromium: if it is missing these tests fail (they are never skipped).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Dialog, Page, expect, sync_playwright

from django_livechat import moderation, services
from django_livechat.models import Message, Room, Visitor
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.live]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS = Path(__file__).resolve().parent.parent / "docs"
PASSWORD = "secret-password"  # UserFactory's
XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def browser_page(live_server: Any, transactional_db: Any, monkeypatch: Any) -> Iterator[Page]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself (setting up data, checking results) are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert os.path.exists(CHROMIUM), f"Chromium is missing: install it at {CHROMIUM}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 860}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        dialogs: list[str] = []

        def on_dialog(dialog: Dialog) -> None:  # alert() from injected markup would land here
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # The test ran inside Playwright's greenlet, whose context has database connections
            # of its own (Django keeps them per context): close them, or PostgreSQL refuses to
            # drop the test database at the end ("being accessed by other users").
            connections.close_all()
        assert dialogs == [], f"a script ran from message text: {dialogs}"


def login(page: Page, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("Log out")


def conversations() -> dict[str, Room]:
    """A small, realistic inbox."""
    agent = UserFactory(username="sam", first_name="Sam", last_name="Support", is_staff=True)
    rooms = {}
    ada = services.post_messages(
        token="widget-ada", texts=["Hi! My order #1042 hasn't arrived yet.", "It was due Monday."]
    )
    Visitor.objects.filter(pk=ada.visitor.pk).update(name="Ada Lovelace", email="ada@example.com")
    services.reply_as_agent(
        room=ada.room, agent=agent, text="Sorry about that, Ada! Let me check the tracking."
    )
    services.post_messages(token="widget-ada", texts=["Thanks. You are all idiots though.", XSS])
    rooms["ada"] = ada.room
    grace = services.post_messages(token="sms-grace", texts=["Can I change my delivery address?"])
    Visitor.objects.filter(pk=grace.visitor.pk).update(name="Grace Hopper")
    services.reply_as_agent(room=grace.room, agent=agent, text="Sure: what is the new address?")
    rooms["grace"] = grace.room
    alan = services.post_messages(token="api-alan", texts=["Do you ship to Manchester?"])
    Visitor.objects.filter(pk=alan.visitor.pk).update(name="Alan Turing")
    services.close_room(room=alan.room, closed_by=agent, comment="Answered by email")
    Room.objects.filter(pk=alan.room.pk).update(opened_at=timezone.now() - timedelta(days=3))
    rooms["alan"] = alan.room
    for i in range(4):
        posted = services.post_messages(token=f"guest-{i}", texts=[f"Question number {i + 1}?"])
        rooms[f"guest-{i}"] = posted.room
    return rooms


def test_staff_reads_answers_moderates_and_blocks(browser_page: Page, live_server: Any) -> None:
    page = browser_page
    rooms = conversations()
    UserFactory(username="admin", is_staff=True, is_superuser=True, first_name="Alex")
    login(page, live_server, "admin")

    # The conversation list.
    page.goto(f"{live_server.url}/admin/django_livechat/room/")
    expect(page.locator("#result_list")).to_contain_text("Ada Lovelace")
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    expect(page.locator("#result_list")).to_contain_text(XSS[:30])  # preview, as text
    DOCS.mkdir(exist_ok=True)
    page.click("#toggle-nav-sidebar")  # the admin's own toggle: room for every column
    page.set_viewport_size({"width": 1680, "height": 800})
    page.screenshot(path=str(DOCS / "admin-conversations.png"), full_page=True)

    page.set_viewport_size({"width": 1440, "height": 860})

    # Filter: open conversations only.
    page.locator("#changelist-filter").get_by_role("link", name="open", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(6)
    expect(page.locator("#result_list")).not_to_contain_text("Alan Turing")
    # Search by name, then by exact rid.
    page.fill("#searchbar", "lovelace")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.goto(f"{live_server.url}/admin/django_livechat/room/?q={rooms['grace'].rid}")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Grace Hopper")

    # Open Ada's transcript from the list.
    page.goto(f"{live_server.url}/admin/django_livechat/room/?q=lovelace")
    page.locator("#result_list a.livechat-transcript-link").click()
    expect(page.locator("h1")).to_contain_text("Conversation with Ada Lovelace")
    bubbles = page.locator("li.livechat-msg")
    expect(bubbles).to_have_count(5)
    expect(page.locator("li.livechat-agent")).to_have_count(1)
    expect(bubbles.last).to_contain_text(XSS)  # shown as text, no script ran

    # Answer.
    page.fill("textarea[name=text]", "The parcel is at the depot: you will get it tomorrow.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messagelist")).to_contain_text("Your reply was sent.")
    expect(page.locator("li.livechat-agent").last).to_contain_text("at the depot")
    reply = Message.objects.filter(room=rooms["ada"]).order_by("ts").last()
    assert reply is not None and reply.author_kind == "agent" and reply.agent is not None
    assert reply.agent.get_username() == "admin"

    # Hide the insult with a reason.
    insult = page.locator("li.livechat-msg", has_text="all idiots")
    insult.locator("summary").click()
    insult.locator("input[name=reason]").fill("Insult")
    insult.get_by_role("button", name="Hide message").click()
    expect(page.locator(".messagelist")).to_contain_text("The message is hidden.")
    insult = page.locator("li.livechat-msg", has_text="all idiots")
    expect(insult).to_have_class("livechat-msg livechat-visitor livechat-hidden")
    expect(insult).to_contain_text("Insult")
    hidden = Message.objects.get(msg="Thanks. You are all idiots though.")
    assert hidden.is_hidden and hidden.hidden_reason == "Insult"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(DOCS / "admin-transcript.png"), full_page=True)

    # Block the visitor from their page.
    page.locator(".livechat-head").get_by_role("link", name="Ada Lovelace").click()
    page.get_by_role("button", name="Block visitor").click()
    expect(page.locator(".messagelist")).to_contain_text("The visitor is blocked")
    assert Visitor.objects.get(token="widget-ada").is_blocked
    with pytest.raises(services.VisitorBlocked):
        services.post_messages(token="widget-ada", texts=["let me in"])

    # The blocked-visitors filter now finds exactly that conversation.
    page.goto(f"{live_server.url}/admin/django_livechat/room/?visitor__is_blocked__exact=1")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("blocked")


def test_view_only_staff_sees_no_controls(browser_page: Page, live_server: Any) -> None:
    page = browser_page
    rooms = conversations()
    viewer = UserFactory(username="reader", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="django_livechat",
            codename__in=["view_room", "view_message", "view_visitor"],
        )
    )
    insult = Message.objects.get(msg="Thanks. You are all idiots though.")
    moderation.hide_message(insult, by=UserFactory(username="mod"), reason="Insult")
    login(page, live_server, "reader")
    page.goto(f"{live_server.url}/admin/django_livechat/room/{rooms['ada'].pk}/transcript/")
    expect(page.locator("li.livechat-msg")).to_have_count(5)
    expect(page.locator("body")).not_to_contain_text("all idiots")
    expect(page.locator("li.livechat-hidden")).to_contain_text("Hidden by a moderator.")
    expect(page.locator("form")).to_have_count(1)  # only the logout form of the header
    expect(page.get_by_role("button", name="Send reply")).to_have_count(0)
    expect(page.locator("summary")).to_have_count(0)


def test_dark_mode_transcript_is_readable(browser_page: Page, live_server: Any) -> None:
    page = browser_page
    rooms = conversations()
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    page.emulate_media(color_scheme="dark")
    login(page, live_server, "admin")
    page.goto(f"{live_server.url}/admin/django_livechat/room/{rooms['ada'].pk}/transcript/")
    bubble = page.locator("li.livechat-visitor .livechat-bubble").first
    colors = bubble.evaluate(
        "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]"
    )
    background, text = colors
    # Dark background, light text: the admin's CSS variables follow the color scheme.
    assert _luminance(background) < 0.3 < _luminance(text), colors
    page.screenshot(path=str(DOCS / "admin-transcript-dark.png"), full_page=True)


def _luminance(css_color: str) -> float:
    parts = css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")
    red, green, blue = (float(p) / 255 for p in parts[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue
