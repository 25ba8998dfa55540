"""A local SMTP server with STARTTLS and AUTH, on a free loopback port, with a certificate made for the test.

It refuses what a submission server (RFC 6409, port 587) refuses: AUTH before STARTTLS (`530 5.7.0 Must issue a
STARTTLS command first`), MAIL before AUTH (`530 5.7.0 Authentication required`), and a wrong user or password
(`535 5.7.8 Authentication credentials invalid`, RFC 4954 section 6). It accepts AUTH PLAIN and AUTH LOGIN, the
mechanisms smtplib's `login` tries. The accepted messages, and whether TLS was on when each command came, are
recorded for assertions.

`certificate(dir)` writes a self-signed certificate for 127.0.0.1 and localhost; a client trusts it through
`SSL_CERT_FILE`, which `ssl.create_default_context()` reads, as it would trust a private CA.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key for 127.0.0.1 and localhost, as PEM files: (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "failstreak test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: str
    tls: bool
    user: str | None


@dataclass
class SmtpState:
    messages: list[Received] = field(default_factory=list)
    commands: list[tuple[str, bool]] = field(default_factory=list)  # (verb, TLS on)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SmtpServer:
    """Serves connections one at a time on a thread, until stopped."""

    def __init__(self, cert: Path, key: Path, user: str, password: str) -> None:
        self.state = SmtpState()
        # verb -> the reply that refuses it, e.g. {"RCPT": "450 4.2.1 Mailbox busy"} (RFC 5321 section 4.2)
        self.refuse: dict[str, str] = {}
        self._user, self._password = user, password
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(cert, key)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4)
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> SmtpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                self._session(conn)
            except (OSError, ValueError, UnicodeDecodeError):
                pass  # the client gave up (e.g. it did not trust the certificate) or sent garbage: next client
            finally:
                conn.close()

    def _check(self, plain: str) -> str | None:
        """The user if AUTH PLAIN's `\\0user\\0password` is right."""
        _, user, password = plain.split("\0", 2)
        return user if (user, password) == (self._user, self._password) else None

    def _session(self, conn: socket.socket) -> None:
        sock: socket.socket = conn
        f = sock.makefile("rwb")
        tls = False
        user: str | None = None
        sender = ""
        recipients: list[str] = []

        def say(line: str) -> None:
            f.write((line + "\r\n").encode())
            f.flush()

        def hear() -> str:
            return f.readline().decode().rstrip("\r\n")

        say("220 localhost ESMTP failstreak test server")
        while True:
            line = hear()
            if not line:
                return
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            with self.state.lock:
                self.state.commands.append((verb, tls))
            if verb in self.refuse:
                say(self.refuse[verb])
            elif verb == "EHLO":
                say("250-localhost")
                say("250-AUTH PLAIN LOGIN" if tls else "250-STARTTLS")
                say("250 8BITMIME")
            elif verb == "STARTTLS":
                say("220 2.0.0 Ready to start TLS")
                f.close()
                sock = self._tls.wrap_socket(sock, server_side=True)
                f = sock.makefile("rwb")
                tls, user, sender, recipients = True, None, "", []
            elif verb == "AUTH":
                if not tls:
                    say("530 5.7.0 Must issue a STARTTLS command first")
                    continue
                mechanism, _, initial = arg.partition(" ")
                if mechanism.upper() == "PLAIN":
                    if not initial:
                        say("334 ")
                        initial = hear()
                    user = self._check(base64.b64decode(initial).decode())
                elif mechanism.upper() == "LOGIN":
                    say("334 " + base64.b64encode(b"Username:").decode())
                    name = base64.b64decode(hear()).decode()
                    say("334 " + base64.b64encode(b"Password:").decode())
                    user = self._check(f"\0{name}\0{base64.b64decode(hear()).decode()}")
                else:
                    say("504 5.5.4 Unrecognized authentication type")
                    continue
                say("235 2.7.0 Authentication successful" if user else "535 5.7.8 Authentication credentials invalid")
            elif verb == "MAIL":
                if user is None:
                    say("530 5.7.0 Authentication required")
                    continue
                sender = arg.partition(":")[2].strip("<> ")
                say("250 2.1.0 Ok")
            elif verb == "RCPT":
                recipients.append(arg.partition(":")[2].strip("<> "))
                say("250 2.1.5 Ok")
            elif verb == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while (chunk := f.readline().decode()) != ".\r\n":
                    chunks.append(chunk)
                with self.state.lock:
                    self.state.messages.append(Received(sender, recipients, "".join(chunks), tls, user))
                say("250 2.0.0 Ok: queued")
                sender, recipients = "", []
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                return
            elif verb in {"RSET", "NOOP", "HELO"}:
                say("250 2.0.0 Ok")
            else:
                say("502 5.5.2 Error: command not recognized")


@contextmanager
def running(cert: Path, key: Path, user: str, password: str) -> Iterator[SmtpServer]:
    server = SmtpServer(cert, key, user, password).start()
    try:
        yield server
    finally:
        server.stop()
