"""The real servers of the OAuth tests, all on 127.0.0.1 (learnt from ../shared/oauthinfra).

* :class:`AuthorizationServer`: ``node provider/provider.js``, panva/oidc-provider (OpenID
  Certified) with the authorization code flow + PKCE, the device grant, refresh tokens that
  rotate, introspection and revocation. It binds a free port itself and says where on its first
  line (``READY {json}``), so there is no port race; it dies with its stdin, so with the tests.
* :class:`OAuthDovecot`: :class:`tests.dovecot_server.Dovecot` serving IMAP and SMTP submission
  whose only logins are bearer tokens (XOAUTH2, OAUTHBEARER), each checked by RFC 7662
  introspection at the authorization server, and compared with the login name (the token's
  ``username``). Submitted mail is relayed to a sink (:class:`tests.smtp_server.MailServer`, no
  AUTH), where the test reads it.

A token Dovecot refuses costs about half a second (it answers failures on a 500 ms timer).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.dovecot_server import Dovecot, free_port

PROVIDER = Path(__file__).resolve().parent / "provider"
NODE = shutil.which("node")
INTROSPECT_SECRET = "mail-server-secret"
START_TRIES = 6
START_SECONDS = 8  # READY comes within a second or two when it comes at all


def missing() -> str | None:
    """What this machine lacks for the OAuth tests, in words; None when nothing."""
    if NODE is None:
        return "node (Node.js 20 or later)"
    if not (PROVIDER / "node_modules" / "oidc-provider").is_dir():
        return f"the provider's node packages (`npm ci` in {PROVIDER})"
    if not Path("/usr/lib/dovecot/submission").exists():
        return "Debian's dovecot-submissiond"
    return None


class AuthorizationServer:
    """``AuthorizationServer().start()``: ``.issuer``, ``.endpoints[name]``; ``stop()``."""

    def __init__(self, *, access_token_ttl: int = 60, tls: tuple[Path, Path] | None = None):
        self.env = {**os.environ, "OAUTH_ACCESS_TOKEN_TTL": str(access_token_ttl),
                    "OAUTH_INTROSPECT_SECRET": INTROSPECT_SECRET}
        if tls is not None:
            self.env.update(OAUTH_TLS_CERT=str(tls[0]), OAUTH_TLS_KEY=str(tls[1]))
        self.log_file = tempfile.TemporaryFile()
        self.proc: subprocess.Popen | None = None

    def start(self) -> AuthorizationServer:
        """Start provider.js and read its READY line. Node 20 sometimes hangs for good while
        starting it (its main thread waiting on a lock; about 1 start in 6 on a busy machine), so
        each try is bounded and a hung one is killed and tried again."""
        line = ""
        for _ in range(START_TRIES):
            line = self._try_start()
            if line.startswith("READY "):
                break
            self._end(signal.SIGKILL)
        else:
            log = self.log()
            self.log_file.close()
            raise RuntimeError(f"the authorization server did not start in {START_TRIES} tries: {line!r}\n{log}")
        self.endpoints = json.loads(line[len("READY "):])
        self.issuer, self.port = self.endpoints["issuer"], self.endpoints["port"]
        return self

    def _try_start(self) -> str:
        """The first line provider.js prints within :data:`START_SECONDS` ("" when none)."""
        assert NODE is not None
        self.proc = subprocess.Popen([NODE, "provider.js"], cwd=PROVIDER, env=self.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log_file, start_new_session=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_SECONDS)
        return self.proc.stdout.readline().decode() if ready else ""  # the whole line, or EOF when it died

    def _end(self, sig: signal.Signals) -> None:
        """Signal provider.js's process group and wait for it (killed when it does not go in 5 s)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def log(self) -> str:
        self.log_file.seek(0)
        return self.log_file.read().decode(errors="replace")

    def settings(self) -> dict[str, str]:
        """The OUTREACH_OAUTH2_* settings that point the tool at this server (the flow and the
        scopes are left to the provider preset)."""
        e = self.endpoints
        return {"OUTREACH_OAUTH2_CLIENT_ID": "outreach-test",
                "OUTREACH_OAUTH2_AUTH_URL": e["authorization_endpoint"],
                "OUTREACH_OAUTH2_TOKEN_URL": e["token_endpoint"],
                "OUTREACH_OAUTH2_DEVICE_URL": e["device_authorization_endpoint"],
                "OUTREACH_OAUTH2_REVOKE_URL": e["revocation_endpoint"]}

    def stop(self) -> None:
        self._end(signal.SIGTERM)  # provider.js exits at once
        self.log_file.close()


OAUTH_CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
instance_name = outreach-oauth-{instance}
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap submission
listen = 127.0.0.1
shutdown_clients = yes
stats_writer_socket_path =
mail_fsync = never
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
auth_verbose = yes
{users}
passdb {{
  driver = oauth2
  mechanisms = {mechanisms}
  args = {base}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    auto = subscribe
    special_use = \\Drafts
  }}
}}
hostname = mail.test
submission_relay_host = 127.0.0.1
submission_relay_port = {relay_port}
submission_relay_trusted = yes
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service submission-login {{
  chroot =
  inet_listener submission {{
    address = 127.0.0.1
    port = {submission_port}
  }}
  inet_listener submissions {{
    address = 127.0.0.1
    port = {submissions_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

# Dovecot's oauth2 passdb: every token is introspected (RFC 7662) by the "mail-server" client, must
# be active, must come from this issuer, and its username must be the login name (lower-cased).
INTROSPECTION = """\
introspection_mode = post
introspection_url = {scheme}://mail-server:{secret}@127.0.0.1:{port}/token/introspection
force_introspection = yes
active_attribute = active
active_value = true
username_attribute = username
issuers = {issuer}
openid_configuration_url = {issuer}/.well-known/openid-configuration
timeout_msecs = 5000
"""


class OAuthDovecot(Dovecot):
    """``OAuthDovecot(cert, key, authorization_server, sink).start()``: ``.imaps_port``,
    ``.submission_port`` (STARTTLS); bearer-token logins only."""

    def __init__(self, cert: Path, key: Path, authorization: AuthorizationServer, sink,
                 mechanisms: str = "xoauth2 oauthbearer"):
        super().__init__(cert, key)
        self.authorization, self.sink, self.mechanisms = authorization, sink, mechanisms

    def _write_config(self) -> Path:
        for sub in ("run", "state"):
            (self.base / sub).mkdir(exist_ok=True)
        self.imap_port, self.imaps_port = free_port(), free_port()
        self.submission_port, self.submissions_port = free_port(), free_port()
        issuer = self.authorization.issuer
        (self.base / "oauth2.conf.ext").write_text(INTROSPECTION.format(
            scheme=issuer.split(":")[0], secret=INTROSPECT_SECRET, port=self.authorization.port, issuer=issuer))
        conf = self.base / "dovecot.conf"
        conf.write_text(OAUTH_CONFIG.format(
            base=self.base, instance=uuid.uuid4().hex[:8], cert=self.cert, key=self.key, users=self.users,
            mechanisms=self.mechanisms, uid=self.uid, gid=self.gid, home=self.home, relay_port=self.sink.port,
            imap_port=self.imap_port, imaps_port=self.imaps_port, submission_port=self.submission_port,
            submissions_port=self.submissions_port))
        return conf

    def _ready(self) -> bool:
        if not super()._ready():
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.submission_port), timeout=0.5) as s:
                return s.recv(64).startswith(b"220 ")
        except OSError:
            return False
