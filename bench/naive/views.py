"""The baselines served by the same Django process as the app under test.

``NaiveMessagesView`` is ``POST livechat/messages`` written the way most DRF apps would write
it: a nested serializer validates the body, a ``ModelSerializer`` with ``many=True`` saves one
message at a time, and the room's counters are updated after each message. It writes the same
rows (visitor, room, messages with strictly increasing ``ts``) in one transaction and replies
the same shape, so the two are measured doing the same work.

``NoopView`` is the framework's floor: the app's own base view (same authentication,
permission and throttles, same renderer and exception handler) answering without any work.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_livechat.authentication import RocketChatTokenAuthentication
from django_livechat.models import GuestNumber, Message, Room, Visitor
from django_livechat.permissions import CanPostMessages, posting_permissions
from django_livechat.views import LivechatAPIView


class MessageSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="room.visitor.username", read_only=True)

    class Meta:
        model = Message
        fields = ["username", "msg", "ts"]
        read_only_fields = ["ts"]

    def create(self, validated_data: dict[str, Any]) -> Message:
        room: Room = self.context["room"]
        ts = timezone.now()
        if room.last_message_at is not None and ts <= room.last_message_at:
            ts = room.last_message_at + timedelta(milliseconds=1)
        message = Message.objects.create(
            room=room, posted_by=self.context["user"], ts=ts, **validated_data
        )
        room.message_count += 1
        room.last_message_at = ts
        room.save(update_fields=["message_count", "last_message_at"])
        return message


class VisitorSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=255, allow_blank=True)


class MessagesRequestSerializer(serializers.Serializer):
    visitor = VisitorSerializer()
    messages = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=1000)


class NaiveMessagesView(APIView):
    authentication_classes = [RocketChatTokenAuthentication]
    permission_classes = [CanPostMessages]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    @transaction.atomic
    def post(self, request: Request) -> Response:
        body = MessagesRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token = body.validated_data["visitor"]["token"]
        visitor = Visitor.objects.filter(token=token).first()
        if visitor is None:
            number = GuestNumber.objects.create()
            visitor = Visitor.objects.create(token=token, username=f"guest-{number.pk}")
        room = Room.objects.select_for_update().filter(visitor=visitor, status="open").first()
        if room is None:
            room = Room.objects.create(visitor=visitor)
        room.visitor = visitor
        messages = MessageSerializer(
            data=body.validated_data["messages"],
            many=True,
            context={"room": room, "user": request.user},
        )
        messages.is_valid(raise_exception=True)
        messages.save()
        return Response({"messages": messages.data, "success": True})


class NoopView(LivechatAPIView):
    """Authenticates, checks the posting permission and the throttles, answers: nothing else."""

    def get_permissions(self) -> list[BasePermission]:
        return posting_permissions()

    def post(self, request: Request) -> Response:
        return Response({"success": True})
