"""Rocket.Chat's REST paths.

Include them at the site root: ``path("", include("django_livechat.urls"))``.
"""

from django.urls import re_path

from django_livechat import list_views, views, visitor_views

app_name = "django_livechat"

urlpatterns = [
    # No trailing slash needed, none redirected to: Rocket.Chat's clients post to the bare path.
    re_path(r"^api/v1/livechat/messages/?$", views.MessagesView.as_view(), name="messages"),
    re_path(r"^api/v1/login/?$", views.LoginView.as_view(), name="login"),
    re_path(r"^api/v1/logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^api/v1/me/?$", views.MeView.as_view(), name="me"),
    re_path(r"^api/info/?$", views.InfoView.as_view(), name="info"),
    # The visitor side: authenticated by the visitor token alone. Path parameters take any
    # character, so that an encoded "/" (and "+", "&", spaces, newlines) reach the view intact.
    re_path(r"^api/v1/livechat/visitor/?$", visitor_views.VisitorView.as_view(), name="visitor"),
    re_path(
        r"^api/v1/livechat/visitor/(?P<token>[\s\S]+)$",
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
    re_path(
        r"^api/v1/livechat/message/(?P<message_id>[\s\S]+)$",
        visitor_views.MessageDetailView.as_view(),
        name="message-detail",
    ),
    re_path(
        r"^api/v1/livechat/messages\.history/(?P<rid>[\s\S]+)$",
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
    # Any other path under api/v1/livechat/ (newlines included): 404 in the API's error shape.
    re_path(r"^api/v1/livechat/(?P<rest>[\s\S]*)$", views.NotFoundView.as_view(), name="not-found"),
]
