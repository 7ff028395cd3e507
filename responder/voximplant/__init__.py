"""Voximplant Management API: service-account tokens, the HTTP client and its typed results."""
