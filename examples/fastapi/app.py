"""A FastAPI receiver for enriched-webhook deliveries: copy this file and replace `handle`.

Run (2 workers share one replay store in Redis, so a duplicate is handled once):

    WEBHOOK_SECRET=whsec_... REDIS_URL=redis://localhost:6379/0 \\
        uvicorn app:app --workers 2 --host 0.0.0.0 --port 8000
"""

from __future__ import annotations

import os
import sys

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from enriched_webhook.verify import (
    RedisReplayCache,
    VerifiedEvent,
    Verifier,
    answer_webhook,
    read_capped,
)

MAX_BODY_BYTES = 1024 * 1024  # a Task envelope is a few KB

app = FastAPI()

# Built once per worker process, at start-up. Every worker must share the replay store:
# with the default in-memory one, each worker would handle the same event again.
verifier = Verifier(
    secrets=os.environ["WEBHOOK_SECRET"],
    replay_cache=RedisReplayCache(os.environ["REDIS_URL"]),
)


def handle(event: VerifiedEvent) -> None:
    """Your code, run in a worker thread (a plain `def`: it may block). Raise to be retried.

    Log ids only: every Task field is PHI.
    """
    print(f"handled webhook-id={event.id} task={event.task_id}", file=sys.stderr, flush=True)


@app.post("/hook")
async def hook(request: Request) -> Response:
    # The raw bytes, never parsed JSON: the signature covers the bytes as sent.
    body = await read_capped(request.stream(), request.headers, MAX_BODY_BYTES)
    # Verification, Redis and your handler block: keep them off the event loop.
    answer = await run_in_threadpool(
        answer_webhook, verifier, request.headers, body, handle, max_body_bytes=MAX_BODY_BYTES
    )
    return Response(answer.content, answer.status, media_type=answer.content_type)
