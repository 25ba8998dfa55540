"""Notifiers: turn notifications into messages on a destination (console, Slack, email)."""
