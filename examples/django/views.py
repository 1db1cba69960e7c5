"""A Django view for enriched-webhook deliveries: copy it into your app and replace `handle`.

Route it in urls.py (`path("hook", views.hook)`); settings.py and wsgi.py beside it make
this folder a complete project:

    WEBHOOK_SECRET=whsec_... REDIS_URL=redis://localhost:6379/0 \\
        gunicorn --workers 2 --bind 0.0.0.0:8000 wsgi:application
"""

from __future__ import annotations

import os
import sys

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from enriched_webhook.verify import (
    RedisReplayCache,
    VerifiedEvent,
    Verifier,
    answer_webhook,
)

MAX_BODY_BYTES = 1024 * 1024  # a Task envelope is a few KB

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


@csrf_exempt  # the signature authenticates the sender; there is no browser session
@require_POST
def hook(request: HttpRequest) -> HttpResponse:
    # `lambda: request.body`: read only once the declared length is within the limit.
    # Under WSGI, Django hands a chunked request an empty body: answer_webhook says 411.
    answer = answer_webhook(
        verifier,
        request.headers,
        lambda: request.body,
        handle,
        max_body_bytes=MAX_BODY_BYTES,
    )
    return HttpResponse(answer.content, status=answer.status, content_type=answer.content_type)
