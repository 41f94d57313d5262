"""A real mail system on 127.0.0.1 for the end-to-end season test: Postfix and Dovecot.

aiosmtpd and a bare Dovecot answer what a test tells them to; this answers what nobody
scripted. Postfix takes submissions (STARTTLS, SASL through Dovecot) and delivers to Dovecot by
LMTP; for an unknown user Dovecot refuses at LMTP and Postfix returns its own delivery report;
a Sieve vacation script answers for one contact through Postfix; a stricter submission port
refuses, at RCPT, a sender the login does not own (``reject_sender_login_mismatch``, as
university servers are set up); Dovecot serves the mailboxes over IMAP with STARTTLS.

Nothing under /etc is read or changed: Postfix runs from its own configuration folder
(``postfix -c``), Dovecot in the foreground from its own file, both on free ports, with all
state in one temporary folder. Stopped by pid: the process groups of Postfix's master (its
``pid/master.pid``) and of Dovecot. Root only (Postfix's master must start as root), and
Debian's ``postfix``, ``dovecot-lmtpd`` and ``dovecot-sieve`` besides ``dovecot-imapd``; the
recipe it follows is ``/work/shared/realmail`` (Debian 12, Postfix 3.7, Dovecot 2.3).

Details that matter (each was needed):

* Postfix reads ``maillog_file`` only under ``maillog_file_prefixes``; its ``data_directory``
  must belong to ``postfix``; ``postfix start`` makes the queue's subfolders (its checks take
  about 2 s, most of the start-up).
* An unknown recipient must be accepted at RCPT (``smtpd_reject_unlisted_recipient = no``, no
  ``virtual_mailbox_maps``) for Postfix to send a real bounce rather than refuse in the session.
* Nothing leaves the machine: every other destination is the ``error`` transport.
* Dovecot runs mail as ``nobody``; the state folder is made readable for it and for ``postfix``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PACKAGES = ("postfix", "dovecot-lmtpd", "dovecot-sieve")
APPLICANT, APPLICANT_PASSWORD = "applicant@applicant.test", "app-secret-1"
CONTACT_PASSWORD = "mentor-pw"
CONTACTS = ("ana.reyes@uni-a.example.edu", "bo.chen@uni-b.example.edu", "victor.vance@uni-a.example.edu",
            "kofi.mensah@uni-a.example.edu")
UNKNOWN = "nobody.here@uni-b.example.edu"   # a domain of ours with no such user: Postfix bounces it
ON_VACATION = "victor.vance@uni-a.example.edu"
VACATION = """require ["vacation"];
vacation :days 1 :subject "Out of office" :addresses ["victor.vance@uni-a.example.edu"]
"Thank you for your message. I am out of the office until {back:%B} {back.day}, {back.year}, with limited email access.

Dr. Victor Vance";
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/postfix-data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = {base}
maillog_file = {base}/postfix.log
myhostname = mx.season.test
mydomain = season.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
alias_maps =
alias_database =
local_recipient_maps =
biff = no
default_transport = error:5.7.1 this test system does not relay
relay_transport = error:5.7.1 this test system does not relay
virtual_mailbox_domains = applicant.test, uni-a.example.edu, uni-b.example.edu
virtual_mailbox_maps =
smtpd_reject_unlisted_recipient = no
virtual_transport = lmtp:unix:{base}/dovecot/lmtp
smtpd_relay_restrictions = reject_unauth_destination
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = {base}/dovecot/auth-postfix
smtpd_sasl_auth_enable = no
"""

SUBMISSION = """\
127.0.0.1:{port} inet n - n - - smtpd
  -o syslog_name=postfix/{name}
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
"""
STRICT = """\
  -o smtpd_sender_login_maps=inline:{{{applicant}={applicant}}}
  -o smtpd_sender_restrictions=reject_sender_login_mismatch
"""
MASTER_CF = """\
127.0.0.1:{mta} inet n - n - - smtpd
{submission}{strict}pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""

DOVECOT_CONF = """\
base_dir = {base}/dovecot
state_dir = {base}/dovecot-state
instance_name = outreach-season-{port}
log_path = {base}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
stats_writer_socket_path =
mail_fsync = never
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login
auth_failure_delay = 0
auth_username_format = %Lu
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/users
}}
userdb {{
  driver = passwd-file
  args = {base}/users
  default_fields = uid={uid} gid={gid} home={base}/mail/%d/%n
}}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
lda_mailbox_autocreate = yes
postmaster_address = postmaster@season.test
hostname = mx.season.test
submission_host = 127.0.0.1:{mta}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_vacation_min_period = 0
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def missing() -> list[str]:
    """What this machine lacks to run it: Debian packages, or root."""
    gaps = [name for name, path in (("postfix", POSTFIX), ("dovecot-lmtpd", "/usr/lib/dovecot/lmtp"),
                                    ("dovecot-sieve", "/usr/lib/dovecot/modules/lib90_sieve_plugin.so"),
                                    ("dovecot-imapd", DOVECOT)) if not os.path.exists(path)]
    return gaps + ([] if os.geteuid() == 0 else ["root (Postfix's master starts as root)"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealMail:
    """``RealMail(cert, key).start()``: ports ``mta`` (no login; how contacts' mail arrives),
    ``submission`` and ``strict`` (STARTTLS + login), ``imap`` (STARTTLS)."""

    def __init__(self, cert: Path, key: Path, back: date | None = None):
        self.cert, self.key = Path(cert), Path(key)
        self.back = back or date.today() + timedelta(days=30)  # the vacation's return date
        self.base = Path(tempfile.mkdtemp(prefix="outreach-realmail-"))
        self.base.chmod(0o755)  # Dovecot's mail user and Postfix's must find their way in
        self.dovecot: subprocess.Popen | None = None
        self.master_pid: int | None = None
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid

    # -- setting up -----------------------------------------------------------------------
    def _write(self) -> None:
        self.mta, self.submission, self.strict, self.imap = (free_port() for _ in range(4))
        for sub in ("queue", "postfix-data", "postfix", "dovecot", "dovecot-state", "mail"):
            (self.base / sub).mkdir(exist_ok=True)
        shutil.chown(self.base / "postfix-data", "postfix")
        (self.base / "postfix.log").touch()
        conf = self.base / "postfix"
        (conf / "main.cf").write_text(MAIN_CF.format(base=self.base, cert=self.cert, key=self.key))
        submission = SUBMISSION.format(port=self.submission, name="submission")
        strict = SUBMISSION.format(port=self.strict, name="strict") + STRICT.format(applicant=APPLICANT)
        (conf / "master.cf").write_text(MASTER_CF.format(mta=self.mta, submission=submission, strict=strict))
        users = [f"{APPLICANT}:{{PLAIN}}{APPLICANT_PASSWORD}::::::"]
        users += [f"{address}:{{PLAIN}}{CONTACT_PASSWORD}::::::" for address in CONTACTS]
        (self.base / "users").write_text("\n".join(users) + "\n")
        (self.base / "dovecot.conf").write_text(DOVECOT_CONF.format(
            base=self.base, cert=self.cert, key=self.key, uid=self.uid, gid=self.gid, mta=self.mta, port=self.imap))
        local, _, domain = ON_VACATION.partition("@")
        home = self.base / "mail" / domain / local
        (home / "sieve").mkdir(parents=True)
        (home / "sieve" / "vacation.sieve").write_text(VACATION.format(back=self.back))
        (home / ".dovecot.sieve").symlink_to("sieve/vacation.sieve")
        for path in (self.base / "mail", *(self.base / "mail").rglob("*")):
            os.lchown(path, self.uid, self.gid)

    def start(self, timeout: float = 20.0) -> RealMail:
        """Start both, within ``timeout``; a port taken since it was chosen means a new try."""
        for attempt in range(3):
            try:
                return self._start(timeout)
            except RuntimeError as e:
                self.stop()
                if "in use" not in str(e) or attempt == 2:
                    raise
                for path in self.base.iterdir():
                    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> RealMail:
        self._write()
        deadline = time.monotonic() + timeout
        with open(self.base / "dovecot.stderr", "ab") as err:
            self.dovecot = subprocess.Popen([DOVECOT, "-F", "-c", str(self.base / "dovecot.conf")],
                                            stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
        self._wait(lambda: all((self.base / "dovecot" / name).exists() for name in ("lmtp", "auth-postfix")),
                   deadline, "Dovecot's LMTP and auth sockets")
        done = subprocess.run([POSTFIX, "-c", str(self.base / "postfix"), "start"], capture_output=True, text=True,
                              timeout=max(1.0, deadline - time.monotonic()))  # about 2 s: its checks
        if done.returncode != 0:
            raise RuntimeError(f"postfix start failed: {done.stdout}{done.stderr}{self.log()}")
        pid_file = self.base / "queue" / "pid" / "master.pid"
        self._wait(lambda: pid_file.exists() and pid_file.read_text().strip().isdigit(), deadline, "Postfix's master")
        self.master_pid = int(pid_file.read_text())
        self._wait(lambda: all(_listening(port) for port in (self.mta, self.submission, self.strict, self.imap)),
                   deadline, "the SMTP and IMAP ports")
        return self

    def _wait(self, ready, deadline: float, what: str) -> None:
        while not ready():
            if self.dovecot is not None and self.dovecot.poll() is not None:
                raise RuntimeError(f"dovecot stopped while waiting for {what}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}:\n{self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in
                       (self.base / "postfix.log", self.base / "dovecot.log", self.base / "dovecot.stderr")
                       if path.exists())

    # -- what the tests look at ------------------------------------------------------------
    def maildir(self, address: str) -> Path:
        local, _, domain = address.partition("@")
        return self.base / "mail" / domain / local / "Maildir"

    def inbox(self, address: str) -> list[bytes]:
        """Every message in the INBOX of ``address``, oldest first (by delivery time)."""
        box = self.maildir(address)
        files = [p for sub in ("new", "cur") if (box / sub).is_dir() for p in (box / sub).iterdir()]
        return [p.read_bytes() for p in sorted(files, key=lambda p: p.stat().st_mtime_ns)]

    def wait_for(self, address: str, count: int, timeout: float = 20.0) -> list[bytes]:
        """The INBOX of ``address`` once it holds ``count`` messages, watched until then (bounded)."""
        deadline = time.monotonic() + timeout
        while len(messages := self.inbox(address)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{address} has {len(messages)} of {count} messages after {timeout} s:\n"
                                     + self.log()[-3000:])
            time.sleep(0.05)
        return messages

    # -- stopping, by pid --------------------------------------------------------------------
    def stop(self) -> None:
        """SIGKILL to the process groups of Postfix's master (a session leader: its children are
        in its group) and of Dovecot. A graceful stop takes seconds, and nothing here needs one."""
        if self.master_pid is not None:
            _kill_group(self.master_pid)
            self.master_pid = None
        if self.dovecot is not None:
            _kill_group(self.dovecot.pid)
            self.dovecot.wait(5)
            self.dovecot = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> RealMail:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _kill_group(pid: int) -> None:
    """SIGKILL to the process group that ``pid`` leads, and only if it leads one."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
