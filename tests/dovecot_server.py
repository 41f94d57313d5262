"""A private Dovecot IMAP server on 127.0.0.1 for the test suite and the sync benchmark.

Debian's ``dovecot-imapd`` runs in the foreground (``dovecot -F``) with a throwaway config in a
temporary folder: its own base_dir, state_dir, log and random ports, so it never meets a system
Dovecot. One server serves a whole test session; each test logs in as a fresh user name, and the
static passdb gives every name the same password and its own empty Maildir.

What the config does, and why (each line was needed on Debian 12 / Dovecot 2.3.19):

* Root cannot own mail ("userdb returned 0 as uid") and imap-login refuses to run as root, so as
  root the mail belongs to ``nobody`` and lives in its own ``mkdtemp`` (pytest's tmp_path sits
  under a 0700 folder nobody cannot enter). Not root: login and internal users are the caller.
* anvil's per-IP auth penalty would make every failed login after the first take seconds; its
  listener is disabled (``mode = 0``) and ``auth_failure_delay = 0``.
* Gmail-style special-use folders (``[Gmail]/Drafts`` ``\\Drafts``, ``[Gmail]/Sent Mail``
  ``\\Sent``, ``[Gmail]/Spam`` ``\\Junk``) are declared but not auto-created: a test that wants
  Gmail's layout creates them, and every other test sees an account with no Drafts folder at all.
* ``xoauth2`` is offered too: with a static passdb Dovecot 2.3 takes the bearer token as the
  password, which is enough to prove the client speaks SASL XOAUTH2.
* Stopping: SIGKILL to the process group (the master started its own session). A graceful
  SIGTERM takes 1-6 s, and imap processes with a connected client outlive the master anyway.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-secret"
GMAIL_FOLDERS = {"[Gmail]/Drafts": "\\Drafts", "[Gmail]/Sent Mail": "\\Sent", "[Gmail]/Spam": "\\Junk"}

CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
instance_name = outreach-test-{instance}
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
shutdown_clients = yes
stats_writer_socket_path =
# Test mail is thrown away: no fsync makes APPEND several times faster.
mail_fsync = never
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
{users}
passdb {{
  driver = static
  args = password={password}
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
{special}
}}
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
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap {{
  process_limit = 64
}}
"""


def available() -> bool:
    return os.path.exists(DOVECOT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """``Dovecot(cert, key).start()``; ``.imaps_port`` (implicit TLS), ``.imap_port`` (STARTTLS)."""

    def __init__(self, cert: Path, key: Path, password: str = PASSWORD):
        self.cert, self.key, self.password = Path(cert), Path(key), password
        self.base = Path(tempfile.mkdtemp(prefix="outreach-dovecot-"))
        self.proc: subprocess.Popen | None = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            self.home = Path(tempfile.mkdtemp(prefix="outreach-mail-"))
            os.chown(self.home, self.uid, self.gid)
            self.users = ""
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            me, group = pwd.getpwuid(self.uid).pw_name, grp.getgrgid(self.gid).gr_name
            self.home = self.base / "mail"
            self.home.mkdir()
            self.users = (f"default_login_user = {me}\ndefault_internal_user = {me}\n"
                          f"default_internal_group = {group}")

    def _write_config(self) -> Path:
        for sub in ("run", "state"):
            (self.base / sub).mkdir(exist_ok=True)
        special = "\n".join(f'  mailbox "{name}" {{\n    auto = no\n    special_use = {flag}\n  }}'
                            for name, flag in GMAIL_FOLDERS.items())
        self.imap_port, self.imaps_port = free_port(), free_port()
        conf = self.base / "dovecot.conf"
        conf.write_text(CONFIG.format(base=self.base, instance=uuid.uuid4().hex[:8], cert=self.cert, key=self.key,
                                      users=self.users, password=self.password, uid=self.uid, gid=self.gid,
                                      home=self.home, special=special, imap_port=self.imap_port,
                                      imaps_port=self.imaps_port))
        return conf

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, timeout: float = 15.0) -> "Dovecot":
        for attempt in range(3):
            conf = self._write_config()
            with open(self.base / "stderr.log", "ab") as err:
                self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                             stdout=err, stderr=err, start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._ready():
                    return self
                if self.proc.poll() is not None or "Fatal:" in self.log():
                    break
                time.sleep(0.02)
            problem = self.log() + (self.base / "stderr.log").read_text(errors="replace")
            self.stop()
            if "in use" not in problem or attempt == 2:  # a port taken since free_port(): retry
                raise RuntimeError(f"dovecot did not start:\n{problem}")
        raise AssertionError("unreachable")

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.imap_port), timeout=0.5) as s:
                if not s.recv(64).startswith(b"* OK"):
                    return False
            socket.create_connection(("127.0.0.1", self.imaps_port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)

    def new_user(self) -> str:
        """A user name nobody has used: an empty mailbox."""
        return f"u{uuid.uuid4().hex[:12]}@example.test"

    def maildir(self, user: str) -> Path:
        return self.home / user / "Maildir"

    def connect(self, user: str, ssl_context):
        """A logged-in IMAPClient over implicit TLS, for seeding and inspecting a mailbox."""
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", self.imaps_port, ssl=True, ssl_context=ssl_context, timeout=30)
        client.plain_login(user, self.password)
        return client

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
