# SI-MALIK newsroom service image, for the processes `api`, `consume` and `relay`.
# Built from the repository root: docker build -f deploy/newsroom.Dockerfile .
# The default command serves the HTTP API on port 8002; docker-compose.yml runs
# the other processes from the same image with another command (consume, relay).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# Dependencies in their own layer, rebuilt only when pyproject.toml or
# constraints.txt change rather than on every code change.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY shared ./shared
COPY services ./services
COPY data ./data
RUN pip install --no-cache-dir -c constraints.txt . \
 && rm -rf build ./*.egg-info \
 && python -m compileall -q shared services \
 && groupadd --system --gid 10001 simalik \
 && useradd --system --uid 10001 --gid simalik --no-create-home --home-dir /app \
      --shell /usr/sbin/nologin simalik

# The wheel built from pyproject.toml holds only the .py files, not the SQL
# migrations, JSON Schemas and policy YAML beside them, so the processes run from
# the source tree in /app, which has them (PYTHONPATH puts it before site-packages).
ENV PYTHONPATH=/app \
    HTTP_HOST=0.0.0.0 \
    NEWSROOM_HTTP_PORT=8002

# Runs unprivileged; /app stays owned by root, so the code cannot be changed.
USER simalik:simalik
EXPOSE 8002 9102 9103

# The API answers /healthz on NEWSROOM_HTTP_PORT; relays and consumers on METRICS_PORT.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('METRICS_PORT') or os.environ.get('NEWSROOM_HTTP_PORT') or '8002'), timeout=4)"]

ENTRYPOINT ["python", "-m", "services.newsroom"]
CMD ["api"]
