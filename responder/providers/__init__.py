"""Outbound SMS providers."""
