"""Citizen login through OpenID Connect: the young person's and guardian's MitID login.

NemLog-in speaks OpenID Connect; this is our side of it (the relying party): the
authorization code flow with PKCE (S256), ``state`` and ``nonce``, the code exchanged at
the token endpoint with the client secret, and the ID token checked — its signature
against the provider's published keys, then issuer, audience, expiry and nonce — before
its subject, CPR number and name are believed.

The protocol pieces are Authlib's (the authorization URL, PKCE, the token request, client
authentication and the ID token's claim rules); the JOSE work (keys, signatures) is
joserfc's, which Authlib itself builds on and recommends in place of ``authlib.jose``.
HTTP is the project's httpx, synchronous: page handlers are plain ``def`` functions that
run in the threadpool.

Nothing here logs or puts into an error message a token, a code or a CPR number.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.auth import ClientAuth  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    KeyParameterError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import Key, KeySet

from workflow.errors import WorkflowError

NEMLOGIN_CPR_CLAIM = "https://data.gov.dk/model/core/eid/cprNumber"

#: Seconds of clock difference forgiven when checking an ID token's times.
LEEWAY_SECONDS = 30
# Asymmetric signatures only: an ID token "signed" with the client secret (HS256) or not at
# all ("none") is refused whatever the provider's discovery document says.
_SIGNATURE_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                   "ES256", "ES384", "ES512", "EdDSA", "Ed25519"})  # fmt: skip
_OAUTH_ERROR_CODE = re.compile(r"[a-z_]{1,64}")

Reason = Literal[
    "state", "exchange", "signature", "expired", "issuer", "audience", "nonce", "malformed",
    "provider",
]  # fmt: skip

# Which failed claim check means what; any other claim that fails is a malformed token.
_CLAIM_REASONS: dict[str, Reason] = {
    "iss": "issuer",
    "aud": "audience",
    "azp": "audience",
    "nonce": "nonce",
    "exp": "expired",
}


class CitizenLoginError(WorkflowError):
    """A citizen's login failed; ``reason`` says at which check.

    ``state``: the answer does not belong to the login we started; ``exchange``: the
    provider refused the code (used, expired, or the PKCE verifier does not match);
    ``signature``: the ID token is not signed by the provider's key; ``expired``,
    ``issuer``, ``audience``, ``nonce``: that check of the ID token failed; ``malformed``:
    the token or the provider's answer is not what OpenID Connect prescribes; ``provider``:
    the provider could not be reached or answered with an error of its own.
    """

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.reason: Reason = reason
        super().__init__(f"citizen login failed ({reason})" + (f": {detail}" if detail else ""))


@dataclass(frozen=True)
class LoginStart:
    """Where to send the person, and what to keep (in their session) until they return."""

    url: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class CitizenClaims:
    """Who logged in, as the provider vouches: its subject, CPR number and name."""

    subject: str
    cpr: str | None = field(repr=False)  # personal data stays out of logs and tracebacks
    name: str | None = field(repr=False)


def check_state(*, expected: str, received: str | None) -> None:
    """Refuse an authorization answer whose ``state`` is not the one this login sent."""
    if not expected or received is None or not hmac.compare_digest(expected, received):
        raise CitizenLoginError("state")


class OidcClient:
    """One OpenID Connect client of one provider; safe to share between threads.

    The provider's discovery document is fetched once and kept; its signing keys are
    kept too, and fetched again once when a token names a key we do not have (the
    provider rotated its keys).
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        cpr_claim: str = NEMLOGIN_CPR_CLAIM,
        timeout: float = 10.0,
        scope: str = "openid",
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.cpr_claim = cpr_claim
        self.scope = scope
        self._auth = ClientAuth(client_id, client_secret, "client_secret_basic")
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def __repr__(self) -> str:
        return f"OidcClient(issuer={self.issuer!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        """Close the HTTP connections to the provider."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # The provider's published documents.

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            answer = self._http.get(url, headers={"Accept": "application/json"})
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise CitizenLoginError("provider", f"no {what} from {url}") from error
        if not isinstance(document, dict):
            raise CitizenLoginError("provider", f"the {what} at {url} is not a JSON object")
        return document

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once, then kept)."""
        with self._lock:
            if self._metadata is None:
                url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
                document = self._get_json(url, "discovery document")
                # OpenID Connect Discovery 4.3: the document must name the issuer we asked.
                if document.get("issuer") != self.issuer:
                    raise CitizenLoginError("issuer", "the discovery document names another")
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(document.get(name), str):
                        raise CitizenLoginError("provider", f"the discovery lacks {name}")
                self._metadata = document
            return self._metadata

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        metadata = self.metadata()
        with self._lock:
            if self._keys is None or refresh:
                document = self._get_json(metadata["jwks_uri"], "key set")
                try:
                    self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError) as error:
                    raise CitizenLoginError("provider", "its key set is unusable") from error
            return self._keys

    def _signing_key(self, kid: str | None, algorithm: str) -> Key:
        for refresh in (False, True):
            try:
                return self._key_set(refresh=refresh).get_by_kid(kid, {"alg": algorithm})
            except InvalidKeyIdError:
                continue
        raise CitizenLoginError("signature", "signed with a key the provider does not publish")

    def _algorithms(self) -> frozenset[str]:
        published = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        return _SIGNATURE_ALGORITHMS & {str(name) for name in published}

    # The flow.

    def start(self) -> LoginStart:
        """Begin a login: the provider's URL to send the person to, and what to keep."""
        endpoint = self.metadata()["authorization_endpoint"]
        state = str(generate_token(32))
        nonce = str(generate_token(32))
        code_verifier = str(generate_token(64))  # RFC 7636: 43-128 unreserved characters
        url = prepare_grant_uri(
            endpoint,
            client_id=self.client_id,
            response_type="code",
            redirect_uri=self.redirect_uri,
            scope=self.scope,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        return LoginStart(url=str(url), state=state, nonce=nonce, code_verifier=code_verifier)

    def finish(
        self, *, code: str, code_verifier: str, nonce: str, now: float | None = None
    ) -> CitizenClaims:
        """Exchange the code the person came back with, and check the ID token it buys.

        Check the answer's ``state`` with :func:`check_state` first.
        """
        endpoint = self.metadata()["token_endpoint"]
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=self.redirect_uri,
            code_verifier=code_verifier,
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        _, headers, body = self._auth.prepare("POST", endpoint, headers, body)
        try:
            answer = self._http.post(endpoint, content=str(body), headers=headers)
            tokens = answer.json()
        except httpx.HTTPError as error:
            raise CitizenLoginError("provider", "the token endpoint did not answer") from error
        except ValueError as error:
            raise CitizenLoginError("provider", "the token endpoint answered no JSON") from error
        if not isinstance(tokens, dict):
            raise CitizenLoginError("provider", "the token endpoint answered no JSON object")
        if answer.status_code != httpx.codes.OK:
            error_code = tokens.get("error")
            if answer.status_code < 500 and isinstance(error_code, str):
                shown = error_code if _OAUTH_ERROR_CODE.fullmatch(error_code) else "error"
                raise CitizenLoginError("exchange", f"the provider refused the code: {shown}")
            raise CitizenLoginError("provider", f"the token endpoint answered {answer.status_code}")
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise CitizenLoginError("malformed", "the token answer has no ID token")
        return self.validate_id_token(id_token, nonce=nonce, now=now)

    def validate_id_token(
        self, id_token: str, *, nonce: str, now: float | None = None
    ) -> CitizenClaims:
        """Check an ID token (signature, issuer, audience, expiry, nonce) and read its claims.

        ``now`` (seconds since the epoch) is for tests; the default is the clock.
        """
        if not nonce:
            raise CitizenLoginError("nonce", "no nonce to compare with")
        token = self._verified(id_token)
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": self.issuer},
                "aud": {"essential": True, "value": self.client_id},
            },
            params={"nonce": nonce, "client_id": self.client_id},
        )
        try:
            claims.validate(now=int(time.time() if now is None else now), leeway=LEEWAY_SECONDS)
        except ExpiredTokenError as error:
            raise CitizenLoginError("expired") from error
        except ClaimError as error:
            reason = _CLAIM_REASONS.get(error.claim, "malformed")
            raise CitizenLoginError(reason, f"claim {error.claim}") from error
        return self._citizen(token.claims)

    def _verified(self, id_token: str) -> jwt.Token:
        try:
            header = jws.extract_compact(id_token.encode("ascii")).headers()
        except (JoseError, ValueError) as error:
            raise CitizenLoginError("malformed", "not a signed JWT") from error
        algorithm = header.get("alg")
        if algorithm not in self._algorithms():
            raise CitizenLoginError("signature", "not signed with an accepted algorithm")
        kid = header.get("kid")
        key = self._signing_key(kid if isinstance(kid, str) else None, str(algorithm))
        try:
            return jwt.decode(id_token, key, algorithms=[str(algorithm)])
        except (BadSignatureError, KeyParameterError, UnsupportedAlgorithmError) as error:
            raise CitizenLoginError("signature") from error
        except (JoseError, ValueError) as error:
            raise CitizenLoginError("malformed", "the token does not decode") from error

    def _citizen(self, claims: dict[str, Any]) -> CitizenClaims:
        subject, cpr, name = claims.get("sub"), claims.get(self.cpr_claim), claims.get("name")
        if not isinstance(subject, str) or not subject:
            raise CitizenLoginError("malformed", "no subject")
        if cpr is not None and not isinstance(cpr, str):
            raise CitizenLoginError("malformed", "the CPR claim is not a string")
        if name is not None and not isinstance(name, str):
            raise CitizenLoginError("malformed", "the name claim is not a string")
        return CitizenClaims(subject=subject, cpr=cpr, name=name)
