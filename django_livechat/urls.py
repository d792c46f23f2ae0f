"""Rocket.Chat's REST paths.

Include them at the site root: ``path("", include("django_livechat.urls"))``.
"""

from django.urls import path, re_path

from django_livechat import list_views, views, visitor_views

app_name = "django_livechat"

urlpatterns = [
    # No trailing slash needed, none redirected to: Rocket.Chat's clients post to the bare path.
    re_path(r"^api/v1/livechat/messages/?$", views.MessagesView.as_view(), name="messages"),
    re_path(r"^api/v1/login/?$", views.LoginView.as_view(), name="login"),
    re_path(r"^api/v1/logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^api/v1/me/?$", views.MeView.as_view(), name="me"),
    re_path(r"^api/info/?$", views.InfoView.as_view(), name="info"),
    # The visitor side: authenticated by the visitor token alone. Tokens in paths use <path:>
    # so that an encoded "/" (and "+", "&", spaces) reach the view intact.
    re_path(r"^api/v1/livechat/visitor/?$", visitor_views.VisitorView.as_view(), name="visitor"),
    path(
        "api/v1/livechat/visitor/<path:token>",
        visitor_views.VisitorDetailView.as_view(),
        name="visitor-detail",
    ),
    re_path(r"^api/v1/livechat/room/?$", visitor_views.RoomView.as_view(), name="room"),
    re_path(
        r"^api/v1/livechat/room\.close/?$",
        visitor_views.RoomCloseView.as_view(),
        name="room-close",
    ),
    re_path(r"^api/v1/livechat/message/?$", visitor_views.MessageView.as_view(), name="message"),
    path(
        "api/v1/livechat/message/<path:message_id>",
        visitor_views.MessageDetailView.as_view(),
        name="message-detail",
    ),
    path(
        "api/v1/livechat/messages.history/<path:rid>",
        visitor_views.MessagesHistoryView.as_view(),
        name="messages-history",
    ),
    # The agent lists: X-Auth-Token authentication.
    re_path(r"^api/v1/livechat/rooms/?$", list_views.RoomsListView.as_view(), name="rooms"),
    re_path(
        r"^api/v1/livechat/messages\.list/?$",
        list_views.MessagesListView.as_view(),
        name="messages-list",
    ),
    path("api/v1/livechat/<path:rest>", views.NotFoundView.as_view(), name="not-found"),
]
