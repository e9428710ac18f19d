# newsbot: one image for the bot and for scaled-out pipeline workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The pinned dependencies first (a layer that changes only with requirements.lock), then
# the project itself without resolving anything again.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
RUN pip install --no-deps . && useradd --system --uid 10001 --home /data newsbot \
    && mkdir -p /data && chown newsbot /data

USER newsbot
ENV NEWSBOT_DATA_DIR=/data
# The embedded Valkey's data (when NEWSBOT_REDIS_URL is unset) outlives the container.
VOLUME ["/data"]
EXPOSE 8080
# No terminal in a container: without platform tokens the bot runs headless (HTTP API,
# feeds, workers) and says which tokens to set, instead of exiting into a restart loop.
CMD ["newsbot", "run", "--no-console"]
