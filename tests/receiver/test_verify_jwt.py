"""JWT mode: our tokens, jwcrypto's tokens, the RFC 7515 vectors, and the named attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

from enriched_webhook.receiver.jwks_source import RemoteKeySet, static_key_set
from enriched_webhook.receiver.jwt_check import hs256_key
from enriched_webhook.shared.signature import body_sha256, jwt_claims
from enriched_webhook.verify import (
    FutureTimestampError,
    InvalidSignatureError,
    InvalidTokenError,
    KeySetUnavailableError,
    MissingHeaderError,
    StaleTimestampError,
    TokenExpiredError,
    UnknownKeyError,
    Verifier,
    VerifierConfigError,
)

from .helpers import (
    AUDIENCE,
    NOW,
    SOURCE,
    KeyPair,
    body_for,
    fixture,
    hmac_headers,
    jwt_headers,
    new_key_pair,
    new_whsec,
    verify_jws,
)

TASK = fixture().task
BODY = body_for(TASK)
TASK_ID = TASK["id"]


def jwks_of(*pairs: KeyPair) -> dict[str, Any]:
    return {"keys": [pair.public_jwk for pair in pairs]}


def verifier(*pairs: KeyPair, **options: Any) -> Verifier:
    options.setdefault("now", NOW)
    options.setdefault("audience", AUDIENCE)
    return Verifier(jwks=jwks_of(*pairs), **options)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
def test_plugin_style_tokens_verify(algorithm: str) -> None:
    pair = new_key_pair(algorithm, "kid-" + algorithm)
    headers = jwt_headers(pair, BODY, task_id=TASK_ID)
    event = verifier(pair, issuer=SOURCE).verify(BODY, headers)
    assert event.task.id == TASK_ID
    assert event.claims is not None and event.claims["sub"] == "Task/" + TASK_ID


def test_hs256_only_with_an_explicit_secret() -> None:
    shared = "s" * 40
    pair = new_key_pair("ES256")
    headers = jwt_headers(pair, BODY, task_id=TASK_ID, key=shared, algorithm="HS256")
    check = Verifier(hs256_secret=shared, audience=AUDIENCE, now=NOW)
    assert check.verify(BODY, headers).id == "msg_test"
    with pytest.raises(InvalidTokenError):
        verifier(pair).verify(BODY, headers)
    with pytest.raises(InvalidSignatureError):
        Verifier(hs256_secret="t" * 40, audience=AUDIENCE, now=NOW).verify(BODY, headers)


def test_jwcrypto_signed_token_verifies_with_ours() -> None:
    key = jwcrypto_jwk.JWK.generate(kty="EC", crv="P-256", kid="jwc-1")
    public = json.loads(key.export_public())
    claims = jwt_claims(
        issuer=SOURCE,
        audience=AUDIENCE,
        task_id=TASK_ID,
        msg_id="msg_jwc",
        timestamp=NOW,
        body=BODY,
    )
    token = jwcrypto_jwt.JWT(header={"alg": "ES256", "kid": "jwc-1", "typ": "JWT"}, claims=claims)
    token.make_signed_token(key)
    headers = {
        "webhook-id": "msg_jwc",
        "webhook-timestamp": str(NOW),
        "Authorization": "Bearer " + token.serialize(),
    }
    check = Verifier(jwks={"keys": [public]}, audience=AUDIENCE, issuer=SOURCE, now=NOW)
    assert check.verify(BODY, headers).id == "msg_jwc"


def test_our_token_verifies_with_jwcrypto(es256: KeyPair) -> None:
    import time

    headers = jwt_headers(es256, BODY, timestamp=int(time.time()), task_id=TASK_ID)
    token = headers["authorization"].split(" ", 1)[1]
    key = jwcrypto_jwk.JWK(**es256.public_jwk)
    checked = jwcrypto_jwt.JWT(
        jwt=token,
        key=key,
        algs=["ES256"],
        check_claims={"iss": SOURCE, "aud": AUDIENCE, "exp": None},
        expected_type="JWS",
    )
    assert json.loads(checked.claims)["request_body_sha256"] == body_sha256(BODY)


def test_rfc7515_vectors_at_the_jws_layer(vectors: dict[str, Any]) -> None:
    data = vectors["rfc7515"]
    a1 = data["A.1"]
    secret = base64.urlsafe_b64decode(a1["jwk"]["k"] + "==")
    assert verify_jws(a1["jws"], hs256_key(secret), "HS256") == a1["claims"]
    tampered = a1["jws"][:-2] + ("A" if a1["jws"][-2] != "A" else "B") + a1["jws"][-1]
    with pytest.raises(jwt.InvalidSignatureError):
        verify_jws(tampered, hs256_key(secret), "HS256")
    a3 = data["A.3"]
    public = {name: value for name, value in a3["jwk"].items() if name != "d"}
    key = static_key_set({"keys": [public]}).find(None, "ES256")
    assert verify_jws(a3["jws"], key, "ES256") == a3["claims"]
    assert key.algorithms == {"ES256"}  # an EC key never verifies HS256
    # The full request check refuses the vector for what it lacks (jti, body digest...).
    headers = {
        "webhook-id": "msg_a3",
        "webhook-timestamp": "1300819000",
        "authorization": "Bearer " + a3["jws"],
    }
    check = Verifier(jwks={"keys": [public]}, audience=AUDIENCE, now=1300819000)
    with pytest.raises(InvalidTokenError):
        check.verify(b"{}", headers)


def test_private_or_symmetric_jwks_is_refused(vectors: dict[str, Any]) -> None:
    with pytest.raises(VerifierConfigError):
        Verifier(jwks={"keys": [vectors["rfc7515"]["A.3"]["jwk"]]}, audience=AUDIENCE)
    with pytest.raises(VerifierConfigError):
        Verifier(jwks={"keys": [vectors["rfc7515"]["A.1"]["jwk"]]}, audience=AUDIENCE)
    with pytest.raises(VerifierConfigError):
        Verifier(jwks={"keys": [new_key_pair().public_jwk]})  # no audience


def test_alg_none_is_refused(es256: KeyPair) -> None:
    header = b64url(json.dumps({"alg": "none", "kid": es256.kid, "typ": "JWT"}).encode())
    claims = jwt_claims(
        issuer=SOURCE,
        audience=AUDIENCE,
        task_id=TASK_ID,
        msg_id="msg_test",
        timestamp=NOW,
        body=BODY,
    )
    payload = b64url(json.dumps(claims).encode())
    for token in (header + "." + payload + ".", header + "." + payload + ".AAAA"):
        headers = {"webhook-id": "msg_test", "webhook-timestamp": str(NOW)}
        headers["authorization"] = "Bearer " + token
        with pytest.raises(InvalidTokenError):
            verifier(es256).verify(BODY, headers)


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_hs256_signed_with_the_public_key_pem_is_refused(algorithm: str) -> None:
    pair = new_key_pair(algorithm, "victim")
    header = b64url(json.dumps({"alg": "HS256", "kid": "victim", "typ": "JWT"}).encode())
    claims = jwt_claims(
        issuer=SOURCE,
        audience=AUDIENCE,
        task_id=TASK_ID,
        msg_id="msg_test",
        timestamp=NOW,
        body=BODY,
    )
    signing_input = header + "." + b64url(json.dumps(claims).encode())
    for secret in (pair.public_pem.encode(), json.dumps(pair.public_jwk).encode()):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        headers = {
            "webhook-id": "msg_test",
            "webhook-timestamp": str(NOW),
            "authorization": "Bearer " + signing_input + "." + b64url(mac),
        }
        with pytest.raises(InvalidTokenError):
            verifier(pair).verify(BODY, headers)
        with pytest.raises(InvalidSignatureError):
            verifier(pair, hs256_secret="z" * 40).verify(BODY, headers)


def test_expired_and_future_tokens(es256: KeyPair) -> None:
    old = NOW - 400
    headers = jwt_headers(es256, BODY, timestamp=old, task_id=TASK_ID)
    with pytest.raises(StaleTimestampError):
        verifier(es256).verify(BODY, headers)
    with pytest.raises(TokenExpiredError):
        verifier(es256, tolerance=600).verify(BODY, headers)
    short = jwt_headers(es256, BODY, task_id=TASK_ID, claims={"exp": NOW})
    with pytest.raises(TokenExpiredError):
        verifier(es256).verify(BODY, short)
    future = jwt_headers(es256, BODY, timestamp=NOW + 1000, task_id=TASK_ID)
    with pytest.raises(FutureTimestampError):
        verifier(es256).verify(BODY, future)
    not_yet = jwt_headers(es256, BODY, task_id=TASK_ID, claims={"nbf": NOW + 60})
    with pytest.raises(FutureTimestampError):
        verifier(es256).verify(BODY, not_yet)


@pytest.mark.parametrize(
    ("options", "claims"),
    [
        ({"audience": AUDIENCE}, {"aud": "https://other.example/hook"}),
        ({"issuer": SOURCE}, {"iss": "https://evil.canvasmedical.com"}),
        ({}, {"jti": "msg_other"}),
        ({}, {"iat": NOW - 1}),
        ({}, {"iat": float(NOW)}),
        ({}, {"request_body_sha256": body_sha256(b"another body")}),
        ({}, {"request_body_sha256": None}),
        ({}, {"jti": None}),
        ({}, {"aud": None}),
        ({}, {"sub": "Task/someone-else"}),
        ({}, {"exp": "tomorrow"}),
    ],
)
def test_claims_must_fit_the_request(
    es256: KeyPair, options: dict[str, Any], claims: dict[str, Any]
) -> None:
    headers = jwt_headers(es256, BODY, task_id=TASK_ID, claims=claims)
    with pytest.raises(InvalidTokenError):
        verifier(es256, **options).verify(BODY, headers)


def test_body_digest_binds_the_body(es256: KeyPair) -> None:
    headers = jwt_headers(es256, BODY, task_id=TASK_ID)
    flipped = BODY[:-2] + bytes([BODY[-2] ^ 1]) + BODY[-1:]
    with pytest.raises(InvalidTokenError):
        verifier(es256).verify(flipped, headers)


def test_unknown_kid_and_missing_token(es256: KeyPair) -> None:
    stranger = new_key_pair("ES256", "stranger")
    with pytest.raises(UnknownKeyError):
        verifier(es256).verify(BODY, jwt_headers(stranger, BODY, task_id=TASK_ID))
    headers = jwt_headers(es256, BODY, task_id=TASK_ID)
    del headers["authorization"]
    with pytest.raises(MissingHeaderError):
        verifier(es256).verify(BODY, headers)


def test_wrong_key_same_kid_fails_signature(es256: KeyPair) -> None:
    impostor = new_key_pair("ES256", es256.kid)
    with pytest.raises(InvalidSignatureError):
        verifier(es256).verify(BODY, jwt_headers(impostor, BODY, task_id=TASK_ID))


def test_malformed_tokens(es256: KeyPair) -> None:
    token = jwt_headers(es256, BODY, task_id=TASK_ID)["authorization"].split(" ", 1)[1]
    header, payload, signature = token.split(".")
    crit = b64url(json.dumps({"alg": "ES256", "kid": es256.kid, "crit": ["exp"]}).encode())
    cases = [
        token[: len(token) // 2],
        header + "." + payload,
        header + ".." + signature,
        "!!!." + payload + "." + signature,
        b64url(b"[]") + "." + payload + "." + signature,
        b64url(b'{"alg": ["ES256"]}') + "." + payload + "." + signature,
        crit + "." + payload + "." + signature,
        header + "." + b64url(b"[1,2]") + "." + signature,
    ]
    for case in cases:
        headers = {"webhook-id": "msg_test", "webhook-timestamp": str(NOW)}
        headers["authorization"] = "Bearer " + case
        with pytest.raises((InvalidTokenError, InvalidSignatureError, UnknownKeyError)):
            verifier(es256).verify(BODY, headers)
    for value in ("Basic abc", "Bearer", "Bearer ", token):
        headers = {"webhook-id": "msg_test", "webhook-timestamp": str(NOW), "authorization": value}
        with pytest.raises((InvalidTokenError, MissingHeaderError, Exception)) as caught:
            verifier(es256).verify(BODY, headers)
        assert type(caught.value).__module__ == "enriched_webhook.receiver.errors"


def test_secrets_and_keys_together_require_both(es256: KeyPair, secret: str) -> None:
    check = verifier(es256, secrets=secret)
    jwt_only = jwt_headers(es256, BODY, task_id=TASK_ID)
    hmac_only = hmac_headers(secret, BODY)
    both = {**hmac_only, "authorization": jwt_only["authorization"]}
    assert check.verify(BODY, both).id == "msg_test"
    with pytest.raises(MissingHeaderError):
        check.verify(BODY, jwt_only)
    with pytest.raises(MissingHeaderError):
        check.verify(BODY, hmac_only)
    with pytest.raises(InvalidSignatureError):
        check.verify(
            BODY,
            {**both, "webhook-signature": hmac_headers(new_whsec(), BODY)["webhook-signature"]},
        )
    stranger = new_key_pair("ES256", es256.kid)
    bad_jwt = jwt_headers(stranger, BODY, task_id=TASK_ID)["authorization"]
    with pytest.raises(InvalidSignatureError):
        check.verify(BODY, {**hmac_only, "authorization": bad_jwt})


class _JwksHost:
    """A local JWKS URL whose document the test can change, counting requests."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.requests = 0
        self.fail = False
        self.redirect_to = ""
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests = host.requests + 1
                if host.redirect_to and self.path == "/jwks.json":
                    self.send_response(302)
                    self.send_header("Location", host.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if host.fail:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = json.dumps(host.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:" + str(self.server.server_address[1]) + "/jwks.json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_host() -> Iterator[_JwksHost]:
    host = _JwksHost()
    yield host
    host.close()


def test_jwks_url_is_fetched_cached_and_refreshed_on_unknown_kid(jwks_host: _JwksHost) -> None:
    first, second = new_key_pair("ES256", "first"), new_key_pair("EdDSA", "second")
    jwks_host.document = jwks_of(first)
    keys = RemoteKeySet(jwks_host.url, refresh_interval=0)
    check = Verifier(jwks=keys, audience=AUDIENCE, now=NOW)
    assert jwks_host.requests == 0  # lazily, on first use
    check.verify(BODY, jwt_headers(first, BODY, "msg_1", task_id=TASK_ID))
    check.verify(BODY, jwt_headers(first, BODY, "msg_2", task_id=TASK_ID))
    assert jwks_host.requests == 1
    jwks_host.document = jwks_of(first, second)  # the sender rotates in a new key
    check.verify(BODY, jwt_headers(second, BODY, "msg_3", task_id=TASK_ID))
    assert jwks_host.requests == 2
    stranger = new_key_pair("ES256", "stranger")
    with pytest.raises(UnknownKeyError):
        check.verify(BODY, jwt_headers(stranger, BODY, "msg_4", task_id=TASK_ID))


def test_jwks_refetch_is_rate_limited(jwks_host: _JwksHost) -> None:
    first = new_key_pair("ES256", "first")
    jwks_host.document = jwks_of(first)
    ticks = [1000.0]
    keys = RemoteKeySet(jwks_host.url, refresh_interval=60, clock=lambda: ticks[0])
    keys.find("first", "ES256")
    for _ in range(20):
        with pytest.raises(UnknownKeyError):
            keys.find("forged", "ES256")
    assert jwks_host.requests == 1  # the first fetch was less than 60 s ago
    ticks[0] = 1061.0
    with pytest.raises(UnknownKeyError):
        keys.find("forged", "ES256")
    assert jwks_host.requests == 2


def test_jwks_url_down(jwks_host: _JwksHost) -> None:
    pair = new_key_pair("ES256", "first")
    jwks_host.fail = True
    check = Verifier(jwks_url=jwks_host.url, audience=AUDIENCE, now=NOW)
    with pytest.raises(KeySetUnavailableError) as caught:
        check.verify(BODY, jwt_headers(pair, BODY, task_id=TASK_ID))
    assert caught.value.http_status == 503
    with pytest.raises(VerifierConfigError):
        Verifier(jwks_url="http://example.com/jwks.json", audience=AUDIENCE)


def test_a_jwks_redirect_is_followed_only_to_an_acceptable_url(jwks_host: _JwksHost) -> None:
    pair = new_key_pair("ES256", kid="moved")
    jwks_host.document = {"keys": [pair.public_jwk]}
    jwks_host.redirect_to = jwks_host.url.replace("/jwks.json", "/keys-v2.json")
    assert RemoteKeySet(jwks_host.url).find("moved", "ES256") is not None  # loopback http: fine
    jwks_host.redirect_to = "http://keys.example.invalid/jwks.json"  # clear text, not loopback
    with pytest.raises(KeySetUnavailableError):
        RemoteKeySet(jwks_host.url).find("moved", "ES256")


@pytest.mark.parametrize("literal", ["1e309", "Infinity", "NaN", "-Infinity"])
@pytest.mark.parametrize("claim", ["exp", "nbf"])
def test_non_finite_time_claims_are_refused(es256: KeyPair, claim: str, literal: str) -> None:
    """JSON as PyJWT reads it makes 1e309 infinite and lets NaN through: a token for ever."""
    claims = dict(
        jwt_claims(
            issuer=SOURCE,
            audience=AUDIENCE,
            task_id=TASK_ID,
            msg_id="msg_test",
            timestamp=NOW,
            body=BODY,
        )
    )
    claims[claim] = "__TIME__"
    payload = json.dumps(claims).replace('"__TIME__"', literal).encode()
    token = jwt.api_jws.encode(payload, es256.private_pem, "ES256", {"kid": es256.kid})
    headers = {
        "webhook-id": "msg_test",
        "webhook-timestamp": str(NOW),
        "authorization": f"Bearer {token}",
    }
    with pytest.raises(InvalidTokenError, match=f"JWT {claim} is not a finite number"):
        verifier(es256).verify(BODY, headers)
