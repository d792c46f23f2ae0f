from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LivechatConfig(AppConfig):
    name = "django_livechat"
    verbose_name = _("Livechat")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_livechat import checks  # noqa: F401  (registers the system checks)
