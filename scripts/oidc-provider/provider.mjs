// Loopback OpenID Connect provider for integration tests (panva/oidc-provider).
//
// Env:  OIDC_PORT (0/unset = pick a free port), OIDC_CLIENT_ID,
//       OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI;
//       OIDC_EXIT_ON_STDIN_EOF=1: also exit when stdin closes (lets a test
//       harness that holds a stdin pipe leave no orphan if it dies).
// Issuer: http://127.0.0.1:<port>. Any login/password typed into the
// devInteractions form is accepted. stdout carries exactly one line,
// "oidc-provider listening on http://127.0.0.1:<port>"; everything else
// (library notices and warnings) goes to stderr.
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';

// oidc-provider prints some notices with console.info (stdout): keep stdout
// clean for the readiness line by sending them to stderr.
console.info = console.error;
console.log = console.error;

// Imported after the console redirect so its import-time notices go to stderr too.
const { default: Provider } = await import('oidc-provider');

const env = (name, dflt) => {
  const v = process.env[name];
  if (v !== undefined && v !== '') return v;
  if (dflt !== undefined) return dflt;
  console.error(`provider.mjs: ${name} must be set`);
  process.exit(2);
};
const port = Number(env('OIDC_PORT', '0'));
const client = {
  client_id: env('OIDC_CLIENT_ID'),
  client_secret: env('OIDC_CLIENT_SECRET'),
  redirect_uris: [env('OIDC_REDIRECT_URI')],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'RS256',
};

// Fresh RS256 signing key per run (published at /jwks).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'test-rs256' };

// Every login is a valid account; its claims are derived from the login.
async function findAccount(_ctx, login) {
  return {
    accountId: login,
    async claims() {
      return {
        sub: login,
        preferred_username: login,
        name: `Test User ${login}`,
        email: `${login}@example.org`,
        email_verified: true,
      };
    },
  };
}

const ttl = 60 * 60; // explicit TTLs also silence "you SHOULD change ttl.X" notices
const configuration = {
  clients: [client],
  jwks: { keys: [jwk] },
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  // Put scope-granted claims into the ID token itself, not only in /me (userinfo).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true }, // built-in login + consent HTML forms
  },
  // PKCE: S256 only (the default). It is optional for confidential clients but
  // verified whenever the authorization request carries a code_challenge.
  pkce: { required: () => false },
  // No cookies.keys: cookies are left unsigned, so there is no companion
  // "<name>.sig" cookie for a test client to carry around.
  ttl: {
    AccessToken: ttl, AuthorizationCode: 60, IdToken: ttl, Interaction: ttl,
    Session: ttl, Grant: ttl, RefreshToken: ttl,
  },
  renderError(ctx, out) { // plain-text errors, easier to read in test logs
    ctx.type = 'text';
    ctx.body = JSON.stringify(out);
  },
};

const server = createServer();
server.on('error', (err) => { console.error(`provider.mjs: ${err.message}`); process.exit(1); });
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // do not wait for idle keep-alive sockets
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.OIDC_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', stop).on('close', stop).resume();
}
