from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class LivechatConfig(AppConfig):
    name = "django_livechat"
    verbose_name = _("Livechat")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_livechat import checks  # noqa: F401  (registers the system checks)

        if apps.is_installed("drf_spectacular"):
            # The OpenAPI documentation of the views (the optional extra "openapi").
            from django_livechat import openapi  # noqa: F401

        if apps.is_installed("django.contrib.admin"):
            # The webhook admin lives in its own module (admin.py is the inbox's).
            from django_livechat import webhooks_admin  # noqa: F401
