"""The app under test at the site root, the straightforward implementation under ``bench/``."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("bench/", include("bench.naive.urls")),
    path("", include("django_livechat.urls")),
]
