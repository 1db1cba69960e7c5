"""Serves the JWKS that receivers and API gateways use to check JWT-mode requests.

Public by design (a JWKS holds public keys only), so `authenticate` admits everyone; for
the same reason it refuses to serve a document that carries private or symmetric key
material, which would be a key leak published at a URL.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from canvas_sdk.effects import Effect
from canvas_sdk.effects.simple_api import JSONResponse, Response
from canvas_sdk.handlers.simple_api import Credentials, SimpleAPIRoute
from logger import log

from ..shared.jwks import JwksError, public_jwks

JWKS_CONTENT_TYPE = "application/jwk-set+json"


class JwksRoute(SimpleAPIRoute):
    """GET /jwks.json: the public keys named by the JWT_PUBLIC_JWKS variable."""

    PATH = "/jwks.json"

    def authenticate(self, credentials: Credentials) -> bool:
        return True

    def get(self) -> list[Response | Effect]:
        try:
            document = public_jwks(self.secrets.get("JWT_PUBLIC_JWKS"))
        except JwksError as error:
            log.error("enriched-webhook route=/jwks.json outcome=refused reason=" + str(error))
            return [
                JSONResponse(
                    {"error": "JWKS not available"}, status_code=HTTPStatus.SERVICE_UNAVAILABLE
                )
            ]
        return [
            Response(
                json.dumps(document).encode("utf-8"),
                status_code=HTTPStatus.OK,
                headers={"Cache-Control": "public, max-age=300"},
                content_type=JWKS_CONTENT_TYPE,
            )
        ]
