"""A Flask receiver for enriched-webhook deliveries: copy this file and replace `handle`.

Run (2 workers share one replay store in Redis, so a duplicate is handled once):

    WEBHOOK_SECRET=whsec_... REDIS_URL=redis://localhost:6379/0 \\
        gunicorn --workers 2 --bind 0.0.0.0:8000 app:app
"""

from __future__ import annotations

import os
import sys

from flask import Flask, Response, request

from enriched_webhook.verify import (
    RedisReplayCache,
    VerifiedEvent,
    Verifier,
    answer_webhook,
)

MAX_BODY_BYTES = 1024 * 1024  # a Task envelope is a few KB

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # also caps chunked bodies (413)

# Built once per worker process, at start-up. Every worker must share the replay store:
# with the default in-memory one, each worker would handle the same event again.
verifier = Verifier(
    secrets=os.environ["WEBHOOK_SECRET"],
    replay_cache=RedisReplayCache(os.environ["REDIS_URL"]),
)


def handle(event: VerifiedEvent) -> None:
    """Your code. `event.task` is a validated fhir.resources Task; raise to be retried.

    Log ids only: every Task field is PHI.
    """
    print(f"handled webhook-id={event.id} task={event.task_id}", file=sys.stderr, flush=True)


@app.post("/hook")
def hook() -> Response:
    answer = answer_webhook(
        verifier, request.headers, request.get_data, handle, max_body_bytes=MAX_BODY_BYTES
    )
    return Response(answer.content, answer.status, content_type=answer.content_type)
