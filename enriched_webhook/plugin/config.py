"""The plugin's variables, read and checked in one place, named as in the README.

A missing or malformed variable becomes one ConfigError naming it, so the handler can log
one clear line and send nothing; the message never repeats the variable's value, since
most of them are secrets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..shared.payload import DEFAULT_EVENTS, EVENT_TYPES
from ..shared.signature import (
    MIN_HS256_SECRET_BYTES,
    MIN_SIGNING_KEY_BYTES,
    SecretFormatError,
    decode_secrets,
)
from .config_errors import ConfigError, variable_text
from .delivery_settings import DeliverySettings, load_delivery_settings
from .payload_settings import DEFAULT_PAYLOAD, PayloadSettings, load_payload_settings
from .url_policy import UrlPolicyError, check_url

JWT_ALGORITHMS = ("ES256", "EdDSA", "RS256", "HS256")
DEFAULT_JWT_ALGORITHM = "ES256"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")
_CUSTOMER = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@dataclass(frozen=True)
class JwtSettings:
    """JWT mode: the key (PEM, or the HS256 secret) and the header and claims it signs."""

    private_key: str
    algorithm: str
    key_id: str
    issuer: str
    audience: str


@dataclass(frozen=True)
class PluginSettings:
    """Everything one event needs, validated."""

    webhook_url: str
    allow_local_urls: bool
    signing_mode: str
    hmac_keys: list[bytes]
    jwt: JwtSettings | None
    fhir_client_id: str
    fhir_client_secret: str
    fhir_base_url: str
    fhir_token_url: str
    events: frozenset[str]
    source: str
    delivery: DeliverySettings
    payload: PayloadSettings = DEFAULT_PAYLOAD


def _required(secrets: dict[str, Any], name: str) -> str:
    value = variable_text(secrets, name)
    if not value:
        raise ConfigError(name, "is missing or empty")
    return value


def _flag(secrets: dict[str, Any], name: str) -> bool:
    value = variable_text(secrets, name).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, "must be true or false")


def _url(name: str, url: str, allow_local: bool) -> str:
    try:
        return check_url(url, allow_local)
    except UrlPolicyError as error:
        raise ConfigError(name, str(error)) from None


def _events(secrets: dict[str, Any]) -> frozenset[str]:
    value = variable_text(secrets, "EVENTS")
    names = [part.strip().upper() for part in value.split(",") if part.strip()]
    if not names:
        return frozenset(DEFAULT_EVENTS)
    unknown = [name for name in names if name not in EVENT_TYPES]
    if unknown:
        raise ConfigError(
            "EVENTS",
            "names events this plugin does not handle; allowed: " + ", ".join(EVENT_TYPES),
        )
    return frozenset(names)


def _customer(environment: dict[str, Any]) -> str:
    value = environment.get("CUSTOMER_IDENTIFIER")
    if not isinstance(value, str) or _CUSTOMER.fullmatch(value) is None:
        raise ConfigError("CUSTOMER_IDENTIFIER", "the environment has no valid instance name")
    return value


def _pem(value: str) -> str:
    """Accept a PEM pasted on one line with literal `\\n`, as admin UIs often store it."""
    if "\n" not in value and "\\n" in value:
        return value.replace("\\n", "\n")
    return value


def _jwt(secrets: dict[str, Any], source: str, webhook_url: str) -> JwtSettings:
    algorithm = variable_text(secrets, "JWT_ALGORITHM") or DEFAULT_JWT_ALGORITHM
    if algorithm not in JWT_ALGORITHMS:
        raise ConfigError("JWT_ALGORITHM", "must be one of " + ", ".join(JWT_ALGORITHMS))
    key = _required(secrets, "JWT_PRIVATE_KEY")
    if algorithm == "HS256":
        if len(key.encode("utf-8")) < MIN_HS256_SECRET_BYTES:
            raise ConfigError(
                "JWT_PRIVATE_KEY",
                "an HS256 secret must be at least " + str(MIN_HS256_SECRET_BYTES) + " bytes",
            )
        key_id = variable_text(secrets, "JWT_KEY_ID")
    else:
        key = _pem(key)
        if "-----BEGIN" not in key or "PRIVATE KEY-----" not in key:
            raise ConfigError("JWT_PRIVATE_KEY", "is not a PEM private key")
        key_id = _required(secrets, "JWT_KEY_ID")
    return JwtSettings(
        private_key=key,
        algorithm=algorithm,
        key_id=key_id,
        issuer=variable_text(secrets, "JWT_ISSUER") or source,
        audience=variable_text(secrets, "JWT_AUDIENCE") or webhook_url,
    )


def _hmac_keys(secrets: dict[str, Any]) -> list[bytes]:
    value = _required(secrets, "WEBHOOK_SECRET")
    try:
        keys = decode_secrets(value)
    except SecretFormatError as error:
        raise ConfigError("WEBHOOK_SECRET", str(error)) from None
    if any(len(key) < MIN_SIGNING_KEY_BYTES for key in keys):
        raise ConfigError(
            "WEBHOOK_SECRET", "each key must be at least " + str(MIN_SIGNING_KEY_BYTES) + " bytes"
        )
    return keys


def load_settings(secrets: dict[str, Any], environment: dict[str, Any]) -> PluginSettings:
    """Read every variable the event path needs; raise ConfigError on the first bad one."""
    allow_local = _flag(secrets, "ALLOW_LOCAL_URLS")
    events = _events(secrets)
    webhook_url = _url("WEBHOOK_URL", _required(secrets, "WEBHOOK_URL"), allow_local)
    mode = (variable_text(secrets, "SIGNING_MODE") or "hmac").lower()
    if mode not in ("hmac", "jwt"):
        raise ConfigError("SIGNING_MODE", "must be hmac or jwt")
    client_id = _required(secrets, "FHIR_CLIENT_ID")
    client_secret = _required(secrets, "FHIR_CLIENT_SECRET")
    base_url = variable_text(secrets, "FHIR_BASE_URL")
    token_url = variable_text(secrets, "FHIR_TOKEN_URL")
    customer = _customer(environment)
    source = "https://" + customer + ".canvasmedical.com"
    base_url = base_url or "https://fumage-" + customer + ".canvasmedical.com"
    token_url = token_url or source + "/auth/token/"
    return PluginSettings(
        webhook_url=webhook_url,
        allow_local_urls=allow_local,
        signing_mode=mode,
        hmac_keys=_hmac_keys(secrets) if mode == "hmac" else [],
        jwt=_jwt(secrets, source, webhook_url) if mode == "jwt" else None,
        fhir_client_id=client_id,
        fhir_client_secret=client_secret,
        fhir_base_url=_url("FHIR_BASE_URL", base_url, allow_local).rstrip("/"),
        fhir_token_url=_url("FHIR_TOKEN_URL", token_url, allow_local),
        events=events,
        source=source,
        delivery=load_delivery_settings(secrets),
        payload=load_payload_settings(secrets),
    )
