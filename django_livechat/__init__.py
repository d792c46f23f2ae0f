"""Rocket.Chat-compatible Livechat intake for Django."""

__version__ = "0.1.0"
