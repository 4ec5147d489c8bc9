# Finishline's production image: the same pieces as `./run production` (Debian's Python and
# nginx, gunicorn, the django-q2 cluster, deploy/stack.sh supervising them with honcho).
# Building it needs a container registry to pull debian:bookworm-slim from; see
# docs/production.md#containers. compose.yaml runs it with PostgreSQL and Redis.
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# WeasyPrint needs Pango; pg_dump/pg_restore serve deploy/backup.sh and deploy/restore.sh.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 nginx openssl \
        postgresql-client python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/finishline finishline

WORKDIR /opt/finishline
COPY pyproject.toml README.md ./
RUN python3 -m venv .venv \
    && .venv/bin/pip install --no-cache-dir --upgrade pip \
    && .venv/bin/pip install --no-cache-dir .
COPY . .
# Static files are collected at build time with a throwaway key (nothing secret is baked in).
RUN SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    FINISHLINE_BASE_URL=https://build.invalid \
    .venv/bin/python manage.py collectstatic --noinput -v 0 \
    && mkdir -p var && chown -R finishline /opt/finishline/var /var/lib/finishline

ENV PATH=/opt/finishline/.venv/bin:$PATH \
    FINISHLINE_ENV=production \
    LOG_FORMAT=json \
    FINISHLINE_STATE_DIR=/var/lib/finishline \
    FINISHLINE_HTTPS_PORT=8443 \
    FINISHLINE_HTTP_PORT=8080 \
    VENV=.venv

USER finishline
EXPOSE 8443 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD curl -fsk https://127.0.0.1:8443/healthz/ || exit 1
CMD ["deploy/stack.sh"]
