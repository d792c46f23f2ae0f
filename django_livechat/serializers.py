"""DRF serializers for the API's request bodies and replies."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.settings import api_settings

from django_livechat.conf import app_settings
from django_livechat.models import Message, Visitor
from django_livechat.validation import Array, Object, Schema, SchemaError, String
from django_livechat.wire import format_ts

TOKEN_MAX_LENGTH: int = Visitor._meta.get_field("token").max_length or 255

# Rocket.Chat's ``isPOSTLivechatMessagesParams`` schema, with our size limits.
MESSAGES_REQUEST = Object(
    properties={
        "visitor": Object(
            properties={"token": String(max_length=TOKEN_MAX_LENGTH)}, required=("token",)
        ),
        "messages": Array(
            items=Object(
                properties={"msg": String(max_length=lambda: app_settings.MAX_MESSAGE_LENGTH)},
                required=("msg",),
            ),
            min_items=1,
            max_items=lambda: app_settings.MAX_MESSAGES,
        ),
    },
    required=("visitor", "messages"),
)


class SchemaSerializer(serializers.Serializer):
    """A serializer whose input is checked by a Rocket.Chat-style :class:`Schema`.

    ``validated_data`` is the coerced body; the first failure is a ``ValidationError`` holding
    ajv's message, which the exception handler turns into ``... [invalid-params]``.
    """

    schema: Schema

    def run_validation(self, data: Any = serializers.empty) -> Any:
        # The schema decides about null and missing bodies too (DRF would say "may not be null").
        return self.to_internal_value({} if data is serializers.empty else data)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return self.schema.validate(data)
        except SchemaError as exc:
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [exc.message]}
            ) from exc


class MessagesRequestSerializer(SchemaSerializer):
    """``POST livechat/messages``: ``{"visitor": {"token"}, "messages": [{"msg"}, ...]}``."""

    schema = MESSAGES_REQUEST


class PostedMessageSerializer(serializers.BaseSerializer):
    """One stored message as ``livechat/messages`` replies it: ``username``, ``msg``, ``ts``."""

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return {
            "username": self.context["username"],
            "msg": instance.msg,
            "ts": format_ts(instance.ts),
        }
