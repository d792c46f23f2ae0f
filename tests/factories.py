"""factory-boy factories for the app's models and users."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from django_livechat.models import Message, Room, Visitor
from django_livechat.services import now_ms


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("secret-password")
    is_active = True


class AgentFactory(UserFactory):
    """A user holding ``django_livechat.add_message``: an integration's account."""

    username = factory.Sequence(lambda n: f"agent{n}")

    @factory.post_generation
    def grant(obj, create, extracted, **kwargs):  # noqa: N805
        obj.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="django_livechat", codename="add_message"
            )
        )


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visitor

    token = factory.Sequence(lambda n: f"visitor-token-{n}")
    username = factory.Sequence(lambda n: f"guest-f{n}")


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    visitor = factory.SubFactory(VisitorFactory)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    room = factory.SubFactory(RoomFactory)
    msg = factory.Sequence(lambda n: f"message {n}")
    ts = factory.LazyFunction(now_ms)
