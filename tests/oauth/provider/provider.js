// The authorization server outreach's OAuth tests sign in to: panva/oidc-provider (OpenID Certified)
// on 127.0.0.1, all state in memory. TEST ONLY: its login page takes any name and any password.
//
// Started by tests/oauth/servers.py; the first line on stdout is `READY {json}` with the issuer
// and every endpoint, so there is no port to guess. SIGTERM, or EOF on stdin, stops it at once.
//
// Environment:
//   OAUTH_ACCESS_TOKEN_TTL   seconds an access token lives (default 60)
//   OAUTH_DEVICE_INTERVAL    the RFC 8628 polling interval it announces (default 1; oidc-provider sends none)
//   OAUTH_INTROSPECT_SECRET  the mail server's secret for RFC 7662 introspection
//   OAUTH_TLS_CERT, OAUTH_TLS_KEY   PEM files: serve HTTPS instead of HTTP
//
// Clients: `outreach-test` is a public native client (PKCE S256 required, refresh tokens rotate on
// every use, as Microsoft's do; presenting a spent one revokes the grant). Two more public clients
// exist to make the device flow's rarer answers happen: `outreach-test-slow-down` is told
// `slow_down` on its first poll of each code, `outreach-test-short-codes` gets device codes that
// expire after one second. `mail-server` (confidential) may introspect access tokens, nothing else.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Provider from 'oidc-provider';

const ACCESS_TOKEN_TTL = Number(process.env.OAUTH_ACCESS_TOKEN_TTL || 60);
const DEVICE_INTERVAL = Number(process.env.OAUTH_DEVICE_INTERVAL || 1);
const INTROSPECT_SECRET = process.env.OAUTH_INTROSPECT_SECRET || 'mail-server-secret';
const TLS = process.env.OAUTH_TLS_CERT
  ? { cert: readFileSync(process.env.OAUTH_TLS_CERT), key: readFileSync(process.env.OAUTH_TLS_KEY) }
  : null;

// The real Google and Microsoft mail scopes, so the tool asks here exactly what it asks there.
const MAIL = 'urn:outreach-test:mail';
const MAIL_SCOPES = 'https://mail.google.com/ https://outlook.office.com/IMAP.AccessAsUser.All '
  + 'https://outlook.office.com/SMTP.Send';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const SLOW_DOWN_CLIENT = 'outreach-test-slow-down';
const SHORT_CODES_CLIENT = 'outreach-test-short-codes';

function publicClient(clientId) {
  return {
    client_id: clientId,
    application_type: 'native', // loopback redirect URIs match on any port (RFC 8252 7.3)
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/', 'http://localhost/'],
  };
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test' };

const server = TLS ? createHttpsServer(TLS) : createHttpServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `${TLS ? 'https' : 'http'}://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      publicClient('outreach-test'),
      publicClient(SLOW_DOWN_CLIENT),
      publicClient(SHORT_CODES_CLIENT),
      {
        client_id: 'mail-server',
        client_secret: INTROSPECT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['outreach-test-cookies'] },
    // The login name is the account and its mailbox: sign in as the address the tool logs in as.
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return { sub: id, email: id }; } };
    },
    claims: { openid: ['sub'], email: ['email'] },
    scopes: ['openid', 'offline_access', 'email'],
    // Introspection then names the mailbox ("username"), which Dovecot compares with the SASL user.
    async extraTokenClaims(ctx, token) {
      return token.accountId ? { username: token.accountId } : undefined;
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: {
        enabled: true,
        // The mail server may look at access tokens only: a refresh token is no bearer token.
        async allowedPolicy(ctx, client, token) {
          return client.clientId === 'mail-server' ? token.kind === 'AccessToken' : token.clientId === client.clientId;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => MAIL,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: MAIL_SCOPES, accessTokenFormat: 'opaque', accessTokenTTL: ACCESS_TOKEN_TTL }),
      },
    },
    // Google's access_type=offline and Microsoft's offline_access both end in a refresh token.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      DeviceCode: (ctx, code, client) => (client.clientId === SHORT_CODES_CLIENT ? 1 : 600),
      Grant: 14 * 24 * 3600,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * 24 * 3600,
      Session: 3600,
    },
  });

  for (const event of ['grant.error', 'introspection.error', 'revocation.error', 'server_error']) {
    provider.on(event, (ctx, err) => console.error(event, err.error || err.name, err.error_description || err.message));
  }

  // Test only: POST /test/expire-access-token (token=...) ends one access token now, as its expiry
  // would, and leaves the grant alone (RFC 7009 revocation of an access token ends the whole grant).
  provider.use(async (ctx, next) => {
    if (ctx.path !== '/test/expire-access-token' || ctx.method !== 'POST') return next();
    let body = '';
    for await (const chunk of ctx.req) body += chunk;
    const token = await provider.AccessToken.find(new URLSearchParams(body).get('token') || '');
    if (token) await token.destroy();
    ctx.status = token ? 204 : 404;
    return undefined;
  });

  // RFC 8628 3.5: `slow_down` on the first poll of each code of the slow-down client.
  const polled = new Set();
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token' && ctx.method === 'POST') {
      let body = '';
      for await (const chunk of ctx.req) body += chunk;
      const form = new URLSearchParams(body);
      if (form.get('grant_type') === DEVICE_GRANT && form.get('client_id') === SLOW_DOWN_CLIENT
          && !polled.has(form.get('device_code'))) {
        polled.add(form.get('device_code'));
        ctx.status = 400;
        ctx.body = { error: 'slow_down', error_description: 'polling too fast' };
        return undefined;
      }
      ctx.req.body = Object.fromEntries(form); // the body was read here: hand it on parsed
    }
    return next();
  });

  // RFC 8628 3.2: announce the polling interval (without one, clients wait 5 s).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body = { ...ctx.body, interval: DEVICE_INTERVAL };
    }
  });

  server.on('request', provider.callback());
  const at = (path) => `${issuer}${path}`;
  console.log(`READY ${JSON.stringify({
    issuer,
    port,
    authorization_endpoint: at('/auth'),
    token_endpoint: at('/token'),
    device_authorization_endpoint: at('/device/auth'),
    introspection_endpoint: at('/token/introspection'),
    revocation_endpoint: at('/token/revocation'),
    expire_access_token: at('/test/expire-access-token'),
  })}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
process.stdin.on('end', () => process.exit(0)); // the test process died: go too
process.stdin.resume();
