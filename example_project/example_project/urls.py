from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("django_livechat.urls")),
]

if settings.OPENAPI:
    # The OpenAPI 3 schema of the Livechat routes, and two docs pages reading it.
    from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

    from django_livechat.openapi import LivechatSchemaView

    urlpatterns += [
        path("api/schema/", LivechatSchemaView.as_view(), name="schema"),
        path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
        path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    ]
