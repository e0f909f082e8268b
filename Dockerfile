# The portal's image: web (gunicorn), Celery worker and Celery beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=0 \
    MEDIA_ROOT=/data/media \
    EXPORT_CACHE_DIR=/data/exports

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
# (psycopg2-binary and lxml ship manylinux wheels, so no compiler is needed.)
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# Installed in place: settings find templates/ and manage.py relative to /app.
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 1000 --user-group portal \
    && mkdir -p /app/staticfiles /data/media /data/exports \
    && chown -R portal:portal /app/staticfiles /data/media /data/exports

USER portal
EXPOSE 8000

# Threaded workers (portal/gunicorn_conf.py): a long CSV download does not hold a whole worker.
CMD ["gunicorn", "portal.wsgi", "-c", "python:portal.gunicorn_conf"]
