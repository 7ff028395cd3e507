# The image Fly.io builds (fly.toml); any container platform can run it the same way.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8080
WORKDIR /app
COPY pyproject.toml README.md ./
COPY responder ./responder
RUN pip install --no-cache-dir .
COPY gunicorn.conf.py wsgi.py Procfile ./
COPY rules ./rules

EXPOSE 8080
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
