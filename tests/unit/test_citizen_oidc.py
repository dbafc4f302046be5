"""The citizen login's checks, against a provider played by httpx's MockTransport.

Tokens are signed here with keys made here, so each check can be broken on its own: the
algorithm, an unknown key (and the provider's key rotation), the audience, the nonce, a
CPR claim of the wrong type, the token endpoint's refusals. The real provider's flow is in
tests/integration/test_citizen_oidc.py.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from workflow.web.citizen_oidc import (
    NEMLOGIN_CPR_CLAIM,
    CitizenLoginError,
    OidcClient,
    check_state,
)

ISSUER = "https://nemlog-in.example"
CLIENT_ID = "kui-borger"
SECRET = "s3cret-for-tests"
REDIRECT_URI = "https://kui.example/citizen/login/callback"
NONCE = "the-nonce-of-this-login"


def _key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


KEY = _key("key-1")
ROTATED = _key("key-2")


@dataclass
class FakeProvider:
    """Discovery, keys and a token endpoint, counting what was asked."""

    keys: list[RSAKey] = field(default_factory=lambda: [KEY])
    published_issuer: str = ISSUER
    discovery: bool = True
    token_answer: Callable[[httpx.Request], httpx.Response] | None = None
    calls: dict[str, int] = field(default_factory=dict)
    token_requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[path] = self.calls.get(path, 0) + 1
        if path == "/.well-known/openid-configuration" and self.discovery:
            return httpx.Response(
                200,
                json={
                    "issuer": self.published_issuer,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256", "HS256"],
                },
            )
        if path == "/jwks":
            return httpx.Response(
                200, json={"keys": [key.as_dict(private=False) for key in self.keys]}
            )
        if path == "/token" and self.token_answer is not None:
            self.token_requests.append(request)
            return self.token_answer(request)
        return httpx.Response(404)


def _client(provider: FakeProvider) -> OidcClient:
    client = OidcClient(ISSUER, CLIENT_ID, SECRET, REDIRECT_URI)
    client._http = httpx.Client(transport=httpx.MockTransport(provider))
    return client


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "anna",
        "aud": CLIENT_ID,
        "exp": now + 600,
        "iat": now,
        "nonce": NONCE,
        "name": "Anna Jensen",
        NEMLOGIN_CPR_CLAIM: "0101051234",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(claims: dict[str, Any], key: RSAKey = KEY) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _reason(call: Callable[[], object]) -> str:
    with pytest.raises(CitizenLoginError) as error:
        call()
    return error.value.reason


def test_a_state_that_is_not_ours_is_refused() -> None:
    check_state(expected="abc", received="abc")
    assert _reason(lambda: check_state(expected="abc", received="abd")) == "state"
    assert _reason(lambda: check_state(expected="abc", received=None)) == "state"
    assert _reason(lambda: check_state(expected="", received="")) == "state"


def test_start_asks_for_the_code_with_an_s256_challenge_and_fresh_secrets() -> None:
    provider = FakeProvider()
    client = _client(provider)
    first, second = client.start(), client.start()
    query = {name: values[0] for name, values in parse_qs(urlsplit(first.url).query).items()}
    digest = hashlib.sha256(first.code_verifier.encode()).digest()
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": first.state,
        "nonce": first.nonce,
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    assert 43 <= len(first.code_verifier) <= 128
    assert {first.state, first.nonce, first.code_verifier}.isdisjoint(
        {second.state, second.nonce, second.code_verifier}
    )
    assert first.code_verifier not in repr(first)
    assert provider.calls["/.well-known/openid-configuration"] == 1  # discovery is kept


def test_a_valid_token_gives_the_subject_cpr_number_and_name() -> None:
    claims = _client(FakeProvider()).validate_id_token(_signed(_claims()), nonce=NONCE)
    assert (claims.subject, claims.cpr, claims.name) == ("anna", "0101051234", "Anna Jensen")
    assert "0101051234" not in repr(claims)


def test_a_token_signed_with_the_client_secret_is_refused_though_discovery_offers_it() -> None:
    forged = jwt.encode({"alg": "HS256"}, _claims(), OctKey.import_key(SECRET.encode() * 2))
    assert _reason(lambda: _client(FakeProvider()).validate_id_token(forged, nonce=NONCE)) == (
        "signature"
    )


def test_an_unsigned_token_is_refused() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = _signed(_claims()).split(".")[1]
    unsigned = f"{header}.{payload}."
    assert (
        _reason(lambda: _client(FakeProvider()).validate_id_token(unsigned, nonce=NONCE))
        == "signature"
    )


def test_an_unknown_key_fetches_the_keys_again_once_and_follows_a_rotation() -> None:
    provider = FakeProvider()
    client = _client(provider)
    client.validate_id_token(_signed(_claims()), nonce=NONCE)
    assert provider.calls["/jwks"] == 1

    provider.keys = [KEY, ROTATED]
    claims = client.validate_id_token(_signed(_claims(), ROTATED), nonce=NONCE)
    assert claims.subject == "anna"
    assert provider.calls["/jwks"] == 2

    stranger = _key("key-nobody-published")
    assert _reason(lambda: client.validate_id_token(_signed(_claims(), stranger), nonce=NONCE)) == (
        "signature"
    )
    assert provider.calls["/jwks"] == 3  # once per unknown key, not in a loop


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://someone-else.example"}, "issuer"),
        ({"iss": None}, "issuer"),
        ({"aud": "another-client"}, "audience"),
        ({"aud": [CLIENT_ID, "another-client"]}, "audience"),  # several audiences: azp needed
        ({"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}, "audience"),
        ({"nonce": "another-login"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"sub": None}, "malformed"),
        ({NEMLOGIN_CPR_CLAIM: 101051234}, "malformed"),
        ({"iat": int(time.time()) + 3600}, "malformed"),
    ],
    # Names without the times in them: the same names on every collection (pytest-xdist).
    ids=[
        "other-issuer",
        "no-issuer",
        "other-audience",
        "several-audiences-no-azp",
        "several-audiences-other-azp",
        "other-nonce",
        "no-nonce",
        "expired",
        "no-subject",
        "cpr-not-text",
        "issued-in-the-future",
    ],
)
def test_each_check_of_the_id_token_has_its_reason(changes: dict[str, Any], reason: str) -> None:
    token = _signed(_claims(**changes))
    assert _reason(lambda: _client(FakeProvider()).validate_id_token(token, nonce=NONCE)) == reason


def test_several_audiences_with_us_as_the_authorised_party_are_accepted() -> None:
    token = _signed(_claims(aud=[CLIENT_ID, "another-client"], azp=CLIENT_ID))
    assert _client(FakeProvider()).validate_id_token(token, nonce=NONCE).subject == "anna"


def test_the_leeway_forgives_a_little_clock_difference_only() -> None:
    token = _signed(_claims(exp=int(time.time()) - 10))
    client = _client(FakeProvider())
    assert client.validate_id_token(token, nonce=NONCE).subject == "anna"
    assert _reason(lambda: client.validate_id_token(token, nonce=NONCE, now=time.time() + 60)) == (
        "expired"
    )


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "a.b"], ids=repr)
def test_what_is_no_jwt_is_malformed(token: str) -> None:
    assert _reason(lambda: _client(FakeProvider()).validate_id_token(token, nonce=NONCE)) == (
        "malformed"
    )


def test_an_empty_nonce_never_passes() -> None:
    token = _signed(_claims(nonce=None))
    assert _reason(lambda: _client(FakeProvider()).validate_id_token(token, nonce="")) == "nonce"


def test_finish_sends_the_code_and_verifier_with_basic_authentication() -> None:
    provider = FakeProvider(
        token_answer=lambda request: httpx.Response(
            200, json={"access_token": "at", "token_type": "Bearer", "id_token": _signed(_claims())}
        )
    )
    claims = _client(provider).finish(code="the-code", code_verifier="v" * 64, nonce=NONCE)
    assert claims.cpr == "0101051234"
    (request,) = provider.token_requests
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["authorization_code"],
        "code": ["the-code"],
        "redirect_uri": [REDIRECT_URI],
        "code_verifier": ["v" * 64],
    }
    expected = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(400, json={"error": "invalid_grant"}), "exchange"),
        (httpx.Response(401, json={"error": "invalid_client"}), "exchange"),
        (httpx.Response(500, json={"error": "server_error"}), "provider"),
        (httpx.Response(502, text="<html>bad gateway</html>"), "provider"),
        (httpx.Response(200, json={"access_token": "at", "token_type": "Bearer"}), "malformed"),
    ],
    ids=["refused", "bad-client", "server-error", "gateway", "no-id-token"],
)
def test_what_the_token_endpoint_answers_has_its_reason(
    answer: httpx.Response, reason: str
) -> None:
    client = _client(FakeProvider(token_answer=lambda request: answer))
    assert _reason(lambda: client.finish(code="c", code_verifier="v" * 64, nonce=NONCE)) == reason


def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    client = _client(FakeProvider(published_issuer="https://evil.example"))
    assert _reason(client.start) == "issuer"


def test_a_provider_without_a_discovery_document_is_a_provider_error() -> None:
    client = _client(FakeProvider(discovery=False))
    assert _reason(client.start) == "provider"
