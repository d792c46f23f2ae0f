"""The webhook task, on Django's Tasks framework.

``django.tasks`` on Django 6.x, the ``django-tasks`` backport on Django 5.2 (install
``django-livechat-api[tasks]``). Neither ships a backend that runs tasks outside the request; use
``django_tasks_db.DatabaseBackend`` (package ``django-tasks-db``) with ``manage.py db_worker``.

With a backend that can defer (``supports_defer``, e.g. the database backend) a failed attempt is
retried by enqueuing the task again with ``run_after`` = the delivery's next attempt. With one that
cannot (the immediate backend), retries wait for ``manage.py livechat_send_webhooks``.
Without any Tasks framework installed, deliveries are attempted at once after commit.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from django_livechat import webhooks
from django_livechat.conf import app_settings

logger = logging.getLogger("django_livechat")


def _tasks_framework() -> tuple[Any, Any]:
    """``(task, task_backends)`` from ``django.tasks`` (Django 6) or ``django_tasks`` (5.2)."""
    for module_name in ("django.tasks", "django_tasks"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        return module.task, module.task_backends
    return None, None  # pragma: no cover - depends on the installed packages


_task, _task_backends = _tasks_framework()
HAS_TASKS = _task is not None


def _deliver(delivery_id: int) -> None:
    delivery = webhooks.attempt_delivery(delivery_id)
    if (
        delivery is not None
        and delivery.status == delivery.Status.PENDING
        and delivery.next_attempt_at is not None
        and HAS_TASKS
    ):
        backend = _task_backends[app_settings.WEBHOOK_TASK_BACKEND]
        if backend.supports_defer:
            deliver_webhook.using(
                backend=app_settings.WEBHOOK_TASK_BACKEND, run_after=delivery.next_attempt_at
            ).enqueue(delivery_id)


if _task is not None:

    @_task()
    def deliver_webhook(delivery_id: int) -> None:
        """Attempt one webhook delivery; schedule the retry if the backend can defer."""
        _deliver(delivery_id)

else:  # pragma: no cover - depends on the installed packages
    deliver_webhook = None


def enqueue_delivery(delivery_id: int) -> Any:
    """Enqueue the delivery's first attempt on ``WEBHOOK_TASK_BACKEND`` (or attempt it now)."""
    if deliver_webhook is None:  # pragma: no cover - depends on the installed packages
        _deliver(delivery_id)
        return None
    return deliver_webhook.using(backend=app_settings.WEBHOOK_TASK_BACKEND).enqueue(delivery_id)
