# logpipe as a container: `docker build -t logpipe .`
#
# Two stages: the first builds logpipe and its dependencies into a virtualenv (compilers
# and pip caches stay there), the second copies only that virtualenv onto a slim Python.
# The GeoLite2 City database the geoip filter uses by default comes with the
# maxminddb-geolite2 dependency, so it is inside the image; mount a fresher one and set
# the filter's `database` to use it. uvloop is a base dependency and is picked up at start.
# Pipelines, lifecycle policies and index templates are looked up relative to /app.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/logpipe
WORKDIR /src
COPY pyproject.toml README.md ./
COPY logpipe ./logpipe
RUN /opt/logpipe/bin/pip install --no-compile . \
 && /opt/logpipe/bin/python -c "import uvloop, geolite2, logpipe"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/logpipe/bin:$PATH
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin logpipe \
 && mkdir -p /var/lib/logpipe \
 && chown 10001 /var/lib/logpipe
COPY --from=build /opt/logpipe /opt/logpipe
WORKDIR /app
COPY pipelines ./pipelines
COPY ilm ./ilm
COPY index_templates ./index_templates
USER 10001

# Endpoints for the docker-compose.yml services; override them for other clusters.
# In a container the inputs and the status endpoint listen on every interface: the HTTP
# input still refuses to start there without auth_token, user/password or client
# certificates (see pipelines/graphmemory.yaml and LOGPIPE_HTTP_TOKEN).
ENV LOGPIPE_ES_HOSTS=http://elasticsearch:9200 \
    LOGPIPE_KAFKA_BOOTSTRAP=kafka:29092 \
    LOGPIPE_REDIS_URL=redis://redis:6379/0

# Beats, HTTP input, metrics and health
EXPOSE 5044 8080 9600

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9600/healthz', timeout=4).status == 200 else 1)"]

CMD ["logpipe", "run", "--pipeline", "graphmemory", "--metrics-host", "0.0.0.0", "--metrics-port", "9600"]
