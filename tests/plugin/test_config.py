"""Every variable: defaults, and each missing or malformed one named in one ConfigError."""

from __future__ import annotations

from typing import Any

import pytest

from enriched_webhook.plugin.config import ConfigError, load_settings
from enriched_webhook.plugin.url_policy import UrlPolicyError, check_url, is_local_host
from tests.support import new_key_pair, new_whsec

ENV = {"CUSTOMER_IDENTIFIER": "clinic-1"}


def base(**overrides: Any) -> dict[str, Any]:
    secrets: dict[str, Any] = {
        "WEBHOOK_URL": "https://hooks.example.com/canvas",
        "WEBHOOK_SECRET": new_whsec(),
        "FHIR_CLIENT_ID": "id",
        "FHIR_CLIENT_SECRET": "client-secret-value",
    }
    secrets.update(overrides)
    return {k: v for k, v in secrets.items() if v is not None}


def test_defaults_come_from_the_instance_name() -> None:
    settings = load_settings(base(), ENV)
    assert settings.fhir_base_url == "https://fumage-clinic-1.canvasmedical.com"
    assert settings.fhir_token_url == "https://clinic-1.canvasmedical.com/auth/token/"
    assert settings.source == "https://clinic-1.canvasmedical.com"
    assert settings.signing_mode == "hmac" and settings.jwt is None
    assert settings.events == frozenset({"TASK_CREATED"})
    assert settings.allow_local_urls is False


def test_rotation_keeps_every_secret_and_events_opt_in() -> None:
    settings = load_settings(
        base(WEBHOOK_SECRET=new_whsec() + " " + new_whsec(), EVENTS="task_created, TASK_CLOSED"),
        ENV,
    )
    assert len(settings.hmac_keys) == 2
    assert settings.events == frozenset({"TASK_CREATED", "TASK_CLOSED"})


def test_jwt_defaults_issuer_to_source_and_audience_to_the_webhook_url() -> None:
    pem, _ = new_key_pair("ES256")
    settings = load_settings(base(SIGNING_MODE="jwt", JWT_PRIVATE_KEY=pem, JWT_KEY_ID="k1"), ENV)
    assert settings.jwt is not None
    assert settings.jwt.algorithm == "ES256"
    assert settings.jwt.issuer == "https://clinic-1.canvasmedical.com"
    assert settings.jwt.audience == "https://hooks.example.com/canvas"


def test_a_pem_pasted_on_one_line_is_restored() -> None:
    pem, _ = new_key_pair("EdDSA")
    one_line = pem.replace("\n", "\\n")
    settings = load_settings(
        base(SIGNING_MODE="jwt", JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY=one_line, JWT_KEY_ID="k"),
        ENV,
    )
    assert settings.jwt is not None and settings.jwt.private_key == pem


BAD = [
    ({"WEBHOOK_URL": None}, "WEBHOOK_URL", "missing"),
    ({"WEBHOOK_URL": "  "}, "WEBHOOK_URL", "missing"),
    ({"WEBHOOK_URL": "http://hooks.example.com/x"}, "WEBHOOK_URL", "only https"),
    ({"WEBHOOK_URL": "https://127.0.0.1/x"}, "WEBHOOK_URL", "loopback"),
    ({"WEBHOOK_URL": "https://user:pw@hooks.example.com/"}, "WEBHOOK_URL", "credentials"),
    ({"WEBHOOK_URL": "ftp://hooks.example.com/"}, "WEBHOOK_URL", "scheme"),
    ({"WEBHOOK_SECRET": None}, "WEBHOOK_SECRET", "missing"),
    ({"WEBHOOK_SECRET": "whsec_!!notbase64!!"}, "WEBHOOK_SECRET", "base64"),
    ({"WEBHOOK_SECRET": "whsec_c2hvcnQ="}, "WEBHOOK_SECRET", "24 bytes"),
    ({"SIGNING_MODE": "rsa"}, "SIGNING_MODE", "hmac or jwt"),
    ({"SIGNING_MODE": "jwt"}, "JWT_PRIVATE_KEY", "missing"),
    ({"SIGNING_MODE": "jwt", "JWT_PRIVATE_KEY": "not a pem"}, "JWT_PRIVATE_KEY", "PEM"),
    (
        {"SIGNING_MODE": "jwt", "JWT_ALGORITHM": "none", "JWT_PRIVATE_KEY": "x"},
        "JWT_ALGORITHM",
        "one of",
    ),
    (
        {"SIGNING_MODE": "jwt", "JWT_ALGORITHM": "HS256", "JWT_PRIVATE_KEY": "short"},
        "JWT_PRIVATE_KEY",
        "32 bytes",
    ),
    ({"FHIR_CLIENT_ID": ""}, "FHIR_CLIENT_ID", "missing"),
    ({"FHIR_CLIENT_SECRET": None}, "FHIR_CLIENT_SECRET", "missing"),
    ({"FHIR_BASE_URL": "http://fhir.example.com"}, "FHIR_BASE_URL", "only https"),
    ({"FHIR_TOKEN_URL": "https://10.0.0.5/auth/token/"}, "FHIR_TOKEN_URL", "private"),
    ({"EVENTS": "TASK_CREATED,TASK_DELETED"}, "EVENTS", "does not handle"),
    ({"ALLOW_LOCAL_URLS": "maybe"}, "ALLOW_LOCAL_URLS", "true or false"),
    ({"WEBHOOK_URL": 5}, "WEBHOOK_URL", "not a string"),
]


@pytest.mark.parametrize(("overrides", "variable", "words"), BAD)
def test_each_bad_variable_is_named_and_its_value_never_echoed(
    overrides: dict[str, Any], variable: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(base(**overrides), ENV)
    assert caught.value.variable == variable
    assert words in str(caught.value)
    value = overrides.get(variable)
    if isinstance(value, str) and len(value.strip()) > 4:
        assert value not in str(caught.value)


def test_jwt_mode_requires_a_key_id_for_asymmetric_keys() -> None:
    pem, _ = new_key_pair("ES256")
    with pytest.raises(ConfigError) as caught:
        load_settings(base(SIGNING_MODE="jwt", JWT_PRIVATE_KEY=pem), ENV)
    assert caught.value.variable == "JWT_KEY_ID"


def test_a_bad_instance_name_is_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(base(), {"CUSTOMER_IDENTIFIER": "../evil"})
    assert caught.value.variable == "CUSTOMER_IDENTIFIER"


def test_allow_local_urls_admits_http_and_loopback() -> None:
    settings = load_settings(
        base(
            ALLOW_LOCAL_URLS="true",
            WEBHOOK_URL="http://127.0.0.1:8080/hook",
            FHIR_BASE_URL="http://localhost:9/",
        ),
        ENV,
    )
    assert settings.webhook_url == "http://127.0.0.1:8080/hook"
    assert settings.fhir_base_url == "http://localhost:9"


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "api.localhost",
        "127.0.0.1",
        "127.9.9.9",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",  # noqa: S104 - a URL host under test, nothing binds
        "100.64.0.1",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fd00::1]",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "127.1",
        "0x7f.0.0.1",
        "012.0.0.1",
        "[fec0::1]",
        "[2002:a00:1::1]",
        "224.0.0.1",
    ],
)
def test_local_and_private_hosts_are_refused(host: str) -> None:
    with pytest.raises(UrlPolicyError):
        check_url("https://" + host + "/hook", allow_local=False)
    check_url("https://" + host + "/hook", allow_local=True)


@pytest.mark.parametrize(
    "host", ["hooks.example.com", "8.8.8.8", "172.32.0.1", "[2001:db8::1]", "deadbeef.cafe"]
)
def test_public_hosts_are_allowed(host: str) -> None:
    assert not is_local_host(host.strip("[]"))
    assert check_url("https://" + host + "/x", allow_local=False)
