"""Rocket.Chat's REST paths.

Include them at the site root: ``path("", include("django_livechat.urls"))``.
"""

from django.urls import path, re_path

from django_livechat import views

app_name = "django_livechat"

urlpatterns = [
    # No trailing slash needed, none redirected to: Rocket.Chat's clients post to the bare path.
    re_path(r"^api/v1/livechat/messages/?$", views.MessagesView.as_view(), name="messages"),
    re_path(r"^api/v1/login/?$", views.LoginView.as_view(), name="login"),
    re_path(r"^api/v1/logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^api/v1/me/?$", views.MeView.as_view(), name="me"),
    re_path(r"^api/info/?$", views.InfoView.as_view(), name="info"),
    path("api/v1/livechat/<path:rest>", views.NotFoundView.as_view(), name="not-found"),
]
