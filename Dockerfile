# Production image: gunicorn serves the app (behind the compose file's nginx proxy); the
# same image runs Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

RUN useradd --create-home --uid 1000 scriptorium
# Everything but what .dockerignore leaves out (tests, benchmarks, local state).
COPY . .
RUN pip install . && \
    DEBUG=1 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput && \
    mkdir -p /data/media && chown -R scriptorium /data

USER scriptorium
ENV MEDIA_ROOT=/data/media
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
