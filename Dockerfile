# logpipe as a container: `docker build -t logpipe .`
# The pipelines, lifecycle policies and index templates are looked up relative to the
# working directory, /app.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY pyproject.toml README.md ./
COPY logpipe ./logpipe
RUN pip install .

COPY pipelines ./pipelines
COPY ilm ./ilm
COPY index_templates ./index_templates

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin logpipe \
 && mkdir -p /var/lib/logpipe \
 && chown logpipe /var/lib/logpipe
USER logpipe

# Endpoints for the docker-compose.yml services; override them for other clusters.
ENV LOGPIPE_ES_HOSTS=http://elasticsearch:9200 \
    LOGPIPE_KAFKA_BOOTSTRAP=kafka:29092 \
    LOGPIPE_REDIS_URL=redis://redis:6379/0

# Beats, HTTP input, metrics
EXPOSE 5044 8080 9600

CMD ["logpipe", "run", "--pipeline", "graphmemory"]
