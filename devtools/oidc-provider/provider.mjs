// A real OpenID Connect provider on 127.0.0.1 that stands in for NemLog-in (MitID) in the
// tests and under `make run`. It is npm's `oidc-provider` (certified by the OpenID
// Foundation), configured by environment variables; never expose it beyond this machine.
//
//   OIDC_PORT            port to listen on, on 127.0.0.1 (required; the caller picks a free one)
//   OIDC_CLIENT_ID       the one confidential client (required)
//   OIDC_CLIENT_SECRET   its secret, sent with client_secret_basic or client_secret_post (required)
//   OIDC_REDIRECT_URIS   its redirect URIs, comma-separated (required)
//   OIDC_ACCOUNTS        path of a JSON file {"<login>": {"name": "...", "cpr": "0101051234"}}
//   OIDC_CPR_CLAIM       the ID token claim holding the CPR number
//                        (default: NemLog-in's https://data.gov.dk/model/core/eid/cprNumber)
//   OIDC_ID_TOKEN_TTL    seconds an ID token lives (default 600)
//   OIDC_EXIT_WITH_STDIN 1: stop when stdin closes (the Python launcher sets it)
//
// Prints exactly one line `ready <issuer>` to stdout once it listens; everything else
// (oidc-provider's development warnings, errors) goes to stderr.
//
// Logging in uses oidc-provider's built-in development interactions:
//   1. GET <issuer>/auth?... redirects (303) to /interaction/<uid>, setting the cookies
//      `_interaction` and `_interaction_resume`; that page is the login form:
//        <form action="/interaction/<uid>" method="post">
//          <input type="hidden" name="prompt" value="login">
//          <input name="login">      any login name; the account is looked up in OIDC_ACCOUNTS
//          <input name="password">   required by the HTML form, ignored by the provider
//          <button type="submit" class="login login-submit">Sign-in</button>
//   2. The POST redirects to /auth/<uid> (resume), which redirects to /interaction/<uid>
//      again, now the consent page:
//        <form action="/interaction/<uid>" method="post">
//          <input type="hidden" name="prompt" value="consent">
//          <button type="submit" class="login login-submit">Continue</button>
//   3. That POST redirects to /auth/<uid>, which redirects to the client's redirect URI
//      with `code`, `state` and `iss` in the query.
// A login name missing from OIDC_ACCOUNTS still logs in, as an account with only `sub`
// (no name, no CPR claim): a token for a person we do not know.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`provider.mjs: environment variable ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

function positiveInteger(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    process.stderr.write(`provider.mjs: ${name} must be a positive whole number of seconds\n`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_PORT'));
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('provider.mjs: OIDC_PORT must be a port number (1-65535)\n');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUris = required('OIDC_REDIRECT_URIS').split(',').map((uri) => uri.trim()).filter(Boolean);
const cprClaim = process.env.OIDC_CPR_CLAIM || 'https://data.gov.dk/model/core/eid/cprNumber';
const idTokenTtl = positiveInteger('OIDC_ID_TOKEN_TTL', 600);
const accounts = process.env.OIDC_ACCOUNTS
  ? JSON.parse(readFileSync(process.env.OIDC_ACCOUNTS, 'utf8'))
  : {};

// A fresh signing key per process: nothing signed by an earlier run verifies.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

function findAccount(ctx, sub) {
  const known = Object.hasOwn(accounts, sub) ? accounts[sub] : undefined;
  return {
    accountId: sub,
    // The provider masks these by the granted scopes and claims; unknown logins get `sub` only.
    async claims() {
      if (!known) return { sub };
      const claims = { sub };
      if (known.name) claims.name = known.name;
      if (known.cpr) claims[cprClaim] = known.cpr;
      return claims;
    },
  };
}

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  findAccount,
  // Like NemLog-in, the person's name and CPR number come in the ID token itself (with
  // `conformIdTokenClaims` the provider would move them to the userinfo endpoint).
  claims: { openid: ['sub', 'name', cprClaim] },
  conformIdTokenClaims: false,
  // PKCE for every client, confidential ones too; oidc-provider 9 only knows S256.
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: true },
    // Not what NemLog-in offers; off so the tests meet nothing it would not do.
    dPoP: { enabled: false },
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    Grant: 600,
    IdToken: idTokenTtl,
    Interaction: 600,
    Session: 600,
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, error) => {
  process.stderr.write(`provider.mjs: server error: ${error?.stack ?? error}\n`);
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
server.on('error', (error) => {
  process.stderr.write(`provider.mjs: cannot listen on 127.0.0.1:${port}: ${error.message}\n`);
  process.exit(1);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // keep-alive connections would hold close() open
}
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, stop);
// A launcher that holds our stdin open asks us to stop when it goes away, even if it dies
// without a word (a killed test run): no provider is left behind on its port.
if (process.env.OIDC_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
