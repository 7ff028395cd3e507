"""WSGI entry point: gunicorn wsgi:app."""

from responder import create_app

app = create_app()
