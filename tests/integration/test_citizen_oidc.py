"""Citizen login against a real OpenID Connect provider (npm's oidc-provider on 127.0.0.1).

The whole authorization code flow with PKCE runs as a browser would run it (with httpx):
the provider's login and consent pages, its redirect with the code, the exchange at its
token endpoint, and the ID token checked against its published key.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, log_in, oidc_provider
from workflow.web.citizen_oidc import (
    LEEWAY_SECONDS,
    NEMLOGIN_CPR_CLAIM,
    CitizenLoginError,
    OidcClient,
    check_state,
)
from workflow.web.dev_oidc import ProviderInfo

ANNA_CPR = "0101054321"
PEOPLE = {
    "anna": {"name": "Anna Jensen", "cpr": ANNA_CPR},
    "mor-til-anna": {"name": "Birthe Jensen", "cpr": "1203754321"},
}
TEN_YEARS = 10 * 365 * 24 * 3600


@pytest.fixture(scope="module")
def provider() -> Iterator[ProviderInfo]:
    with oidc_provider(PEOPLE) as running:
        yield running


@pytest.fixture(scope="module")
def client(provider: ProviderInfo) -> Iterator[OidcClient]:
    with OidcClient(provider.issuer, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI) as oidc:
        yield oidc


@dataclass(frozen=True)
class IssuedToken:
    id_token: str
    nonce: str


@pytest.fixture(scope="module")
def anna_token(provider: ProviderInfo, client: OidcClient) -> IssuedToken:
    """An ID token for Anna, fetched at the token endpoint by hand (the client keeps none)."""
    start = client.start()
    answer = log_in(start.url, "anna")
    tokens = httpx.post(
        client.metadata()["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": start.code_verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
    ).json()
    return IssuedToken(id_token=tokens["id_token"], nonce=start.nonce)


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _reason(error: pytest.ExceptionInfo[CitizenLoginError]) -> str:
    return error.value.reason


def test_a_young_person_logs_in_and_the_id_token_carries_the_cpr_number(
    provider: ProviderInfo, client: OidcClient
) -> None:
    start = client.start()
    query = parse_qs(urlsplit(start.url).query)
    assert start.url.startswith(f"{provider.issuer}/auth?")
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [start.state]
    assert query["nonce"] == [start.nonce]
    assert start.code_verifier not in start.url  # only its hash travels through the browser

    answer = log_in(start.url, "anna")
    check_state(expected=start.state, received=answer["state"])
    assert answer["iss"] == provider.issuer
    claims = client.finish(
        code=answer["code"], code_verifier=start.code_verifier, nonce=start.nonce
    )

    assert claims.subject == "anna"
    assert claims.cpr == ANNA_CPR
    assert claims.name == "Anna Jensen"
    assert ANNA_CPR not in repr(claims)


def test_a_guardian_logs_in_with_their_own_cpr_number(client: OidcClient) -> None:
    start = client.start()
    answer = log_in(start.url, "mor-til-anna")
    claims = client.finish(
        code=answer["code"], code_verifier=start.code_verifier, nonce=start.nonce
    )
    assert (claims.subject, claims.cpr) == ("mor-til-anna", "1203754321")


def test_a_person_the_provider_knows_nothing_about_has_no_cpr_number(client: OidcClient) -> None:
    start = client.start()
    answer = log_in(start.url, "ukendt-person")
    claims = client.finish(
        code=answer["code"], code_verifier=start.code_verifier, nonce=start.nonce
    )
    assert claims.subject == "ukendt-person"
    assert claims.cpr is None
    assert claims.name is None


def test_an_answer_with_another_state_is_refused(client: OidcClient) -> None:
    start = client.start()
    answer = log_in(start.url, "anna")
    with pytest.raises(CitizenLoginError) as error:
        check_state(expected=client.start().state, received=answer["state"])
    assert _reason(error) == "state"


def test_pkce_is_required_a_wrong_code_verifier_buys_nothing(client: OidcClient) -> None:
    start = client.start()
    answer = log_in(start.url, "anna")
    with pytest.raises(CitizenLoginError) as error:
        client.finish(code=answer["code"], code_verifier="x" * 64, nonce=start.nonce)
    assert _reason(error) == "exchange"


def test_pkce_is_required_an_authorization_request_without_a_challenge_is_refused(
    client: OidcClient,
) -> None:
    start = client.start()
    parts = urlsplit(start.url)
    kept = [p for p in parts.query.split("&") if not p.startswith("code_challenge")]
    answer = httpx.get(parts._replace(query="&".join(kept)).geturl(), follow_redirects=False)
    assert answer.is_redirect
    refusal = parse_qs(urlsplit(answer.headers["location"]).query)
    assert refusal["error"] == ["invalid_request"]
    assert "PKCE" in refusal["error_description"][0]


def test_a_code_is_good_for_one_exchange_only(client: OidcClient) -> None:
    start = client.start()
    answer = log_in(start.url, "anna")
    client.finish(code=answer["code"], code_verifier=start.code_verifier, nonce=start.nonce)
    with pytest.raises(CitizenLoginError) as error:
        client.finish(code=answer["code"], code_verifier=start.code_verifier, nonce=start.nonce)
    assert _reason(error) == "exchange"


def test_the_issued_id_token_validates(client: OidcClient, anna_token: IssuedToken) -> None:
    claims = client.validate_id_token(anna_token.id_token, nonce=anna_token.nonce)
    assert (claims.subject, claims.cpr) == ("anna", ANNA_CPR)


def test_a_tampered_signature_is_refused(client: OidcClient, anna_token: IssuedToken) -> None:
    header, payload, signature = anna_token.id_token.split(".")
    # A character in the middle: the last one may only carry padding bits.
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = ".".join([header, payload, signature[:middle] + flipped + signature[middle + 1 :]])
    with pytest.raises(CitizenLoginError) as error:
        client.validate_id_token(tampered, nonce=anna_token.nonce)
    assert _reason(error) == "signature"


def test_a_token_whose_claims_were_changed_is_refused(
    client: OidcClient, anna_token: IssuedToken
) -> None:
    header, payload, signature = anna_token.id_token.split(".")
    claims = json.loads(_unb64(payload))
    claims[NEMLOGIN_CPR_CLAIM] = "3112999999"  # someone else's CPR number, same signature
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    with pytest.raises(CitizenLoginError) as error:
        client.validate_id_token(forged, nonce=anna_token.nonce)
    assert _reason(error) == "signature"


def test_an_expired_id_token_is_refused(client: OidcClient, anna_token: IssuedToken) -> None:
    with pytest.raises(CitizenLoginError) as error:
        client.validate_id_token(
            anna_token.id_token, nonce=anna_token.nonce, now=time.time() + TEN_YEARS
        )
    assert _reason(error) == "expired"


def test_an_id_token_within_its_lifetime_is_accepted_at_a_later_moment(
    client: OidcClient, anna_token: IssuedToken
) -> None:
    # The provider issues them for 600 s (OIDC_ID_TOKEN_TTL): five minutes later is fine.
    claims = client.validate_id_token(
        anna_token.id_token, nonce=anna_token.nonce, now=time.time() + 300
    )
    assert claims.subject == "anna"


def test_an_id_token_for_another_login_attempt_is_refused(
    client: OidcClient, anna_token: IssuedToken
) -> None:
    with pytest.raises(CitizenLoginError) as error:
        client.validate_id_token(anna_token.id_token, nonce=client.start().nonce)
    assert _reason(error) == "nonce"


def test_an_id_token_for_another_client_is_refused(
    provider: ProviderInfo, anna_token: IssuedToken
) -> None:
    other = OidcClient(provider.issuer, "another-client", CLIENT_SECRET, REDIRECT_URI)
    with other, pytest.raises(CitizenLoginError) as error:
        other.validate_id_token(anna_token.id_token, nonce=anna_token.nonce)
    assert _reason(error) == "audience"


def test_a_provider_publishing_another_issuer_is_refused(provider: ProviderInfo) -> None:
    # The same server under another name (localhost): its discovery names 127.0.0.1.
    renamed = provider.issuer.replace("127.0.0.1", "localhost")
    other = OidcClient(renamed, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    with other, pytest.raises(CitizenLoginError) as error:
        other.start()
    assert _reason(error) == "issuer"


def test_a_provider_that_does_not_answer_is_a_provider_error() -> None:
    nowhere = OidcClient("http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    with nowhere, pytest.raises(CitizenLoginError) as error:
        nowhere.start()
    assert _reason(error) == "provider"


def test_the_id_token_lifetime_is_configurable_and_each_provider_signs_with_its_own_key(
    anna_token: IssuedToken,
) -> None:
    with (
        oidc_provider(PEOPLE, id_token_ttl=5) as short,
        OidcClient(short.issuer, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI) as oidc,
    ):
        start = oidc.start()
        answer = log_in(start.url, "anna")
        # Past the five-second lifetime and the client's leeway, well within the default 600 s.
        later = time.time() + 5 + LEEWAY_SECONDS + 10
        with pytest.raises(CitizenLoginError) as expired:
            oidc.finish(
                code=answer["code"], code_verifier=start.code_verifier, nonce=start.nonce, now=later
            )
        assert _reason(expired) == "expired"

        # The first provider's token names a key this provider does not publish.
        with pytest.raises(CitizenLoginError) as foreign:
            oidc.validate_id_token(anna_token.id_token, nonce=anna_token.nonce)
        assert _reason(foreign) == "signature"
