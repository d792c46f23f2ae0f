"""Who may post. The classes in use are the setting ``DJANGO_LIVECHAT["PERMISSION_CLASSES"]``."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from django_livechat.conf import app_settings


class CanPostMessages(BasePermission):
    """The user holds ``django_livechat.add_message`` (directly, by a group, or as superuser)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("django_livechat.add_message"))


def posting_permissions() -> list[BasePermission]:
    """Instances of the configured permission classes, read from the settings on each call."""
    return [import_string(path)() for path in app_settings.PERMISSION_CLASSES]
