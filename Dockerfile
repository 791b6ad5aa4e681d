# syntax=docker/dockerfile:1
# Alcance's container image: `docker build -t alcance .` (docs/operations.md runs it with compose.yaml).
# Two stages: the first builds every dependency as a wheel and compiles the translations; the second
# installs those wheels into a plain Python image with no compiler, and runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# Only here: a compiler, for any dependency that has no wheel for this platform.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml ./
# The pinned dependencies of pyproject.toml (not the test extras), built once into /wheels.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /requirements.txt \
 && pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels -r /requirements.txt
COPY babel.cfg wsgi.py ./
COPY crm ./crm
COPY templates ./templates
COPY migrations ./migrations
COPY seeds ./seeds
# The Spanish catalogue, compiled as `make translations` does.
RUN pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels -r /requirements.txt \
 && pybabel compile --use-fuzzy --statistics -d crm/translations

FROM ${PYTHON_IMAGE}
# WeasyPrint (the delivery dossier) needs pango and a font: the Makefile's SYSTEM_PACKAGES.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin alcance \
 && install -d -o alcance -g alcance -m 0700 /data /backups
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,from=builder,source=/requirements.txt,target=/requirements.txt \
    pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels -r /requirements.txt
WORKDIR /app
# The app runs from its source folder: templates, migrations and seeds sit beside the crm package.
COPY --from=builder /src /app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ALCANCE_INSTANCE_PATH=/data \
    WEB_CONCURRENCY=2
# The SQLite file (if used), the generated keys, letter attachments and staged signature uploads: keep
# them, and share them between the web containers (compose.yaml mounts one volume here).
# Scheduled backups go to /backups (ALCANCE_BACKUP_DIR, set by compose.yaml).
VOLUME ["/data", "/backups"]
# By number, so that a runtime that refuses root (runAsNonRoot) can tell it is not.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# gunicorn with Alcance's settings (crm/serving.py); WEB_CONCURRENCY sets the number of workers. The
# scheduler runs from the same image as `flask --app wsgi scheduler run`, in one container of its own.
CMD ["gunicorn", "-c", "python:crm.serving", "--bind", "0.0.0.0:8000", "wsgi:app"]
