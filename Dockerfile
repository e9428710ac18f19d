# newsbot: one image for the bot and for scaled-out pipeline workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
RUN pip install . && useradd --system --uid 10001 --home /data newsbot \
    && mkdir -p /data && chown newsbot /data

USER newsbot
ENV NEWSBOT_DATA_DIR=/data
EXPOSE 8080
CMD ["newsbot", "run"]
