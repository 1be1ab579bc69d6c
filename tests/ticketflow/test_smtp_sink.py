"""The SMTP sink, over real SMTP: in process (`MailSink`) and as its own process."""

from __future__ import annotations

import re
import signal
import smtplib
import subprocess
import sys
import time
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path

from ticketflow.environment import free_port
from ticketflow.smtp_sink import MailSink

FILENAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}\.eml$")


def make_message(subject: str, body: str = "Hello.\n") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Support <support@ticketflow.local>"
    message["To"] = "customer@example.com"
    message["Cc"] = "lead@example.com"
    message["Subject"] = subject
    message.set_content(body)
    return message


def saved(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.eml"))


def read(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=email_policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_message_is_kept_as_an_eml_file_with_its_envelope(tmp_path: Path) -> None:
    mail_dir = tmp_path / "mail"
    port = free_port()
    body = "Your ticket TKT-1 is open.\n.A line that starts with a dot\nRéponse: ça marche\n"
    with MailSink(mail_dir, port=port), smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        refused = client.send_message(
            make_message("[TKT-1] Reçu", body),
            to_addrs=["customer@example.com", "lead@example.com", "hidden@example.com"],
        )
    assert refused == {}

    files = saved(mail_dir)
    assert len(files) == 1
    assert FILENAME.match(files[0].name), files[0].name
    assert [p.name for p in mail_dir.iterdir()] == [files[0].name], "no temporary file is left"
    message = read(files[0])
    assert message["X-Envelope-From"] == "support@ticketflow.local"
    assert message["X-Envelope-To"] == "customer@example.com, lead@example.com, hidden@example.com"
    assert message["Subject"] == "[TKT-1] Reçu"
    assert message["To"] == "customer@example.com"
    # Dot-stuffing undone, 8-bit text intact, line ends as on the wire (CRLF).
    assert message.get_content() == body.replace("\n", "\r\n")


def test_the_raw_bytes_follow_the_envelope_headers_unchanged(tmp_path: Path) -> None:
    port = free_port()
    raw = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: raw\r\n\r\nline 1\r\nline 2\r\n"
    with MailSink(tmp_path, port=port), smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("a@example.com", ["b@example.com"], raw)

    [path] = saved(tmp_path)
    content = path.read_bytes()
    envelope = b"X-Envelope-From: a@example.com\r\nX-Envelope-To: b@example.com\r\n"
    assert content == envelope + raw


def test_every_message_gets_its_own_file(tmp_path: Path) -> None:
    port = free_port()
    subjects = {f"message {n}" for n in range(5)}
    with MailSink(tmp_path, port=port), smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for subject in sorted(subjects):
            client.send_message(make_message(subject))

    files = saved(tmp_path)
    assert len({path.name for path in files}) == 5
    assert {read(path)["Subject"] for path in files} == subjects


def test_the_standalone_sink_saves_mail_and_exits_cleanly_on_sigint(tmp_path: Path) -> None:
    port, mail_dir = free_port(), tmp_path / "mail"
    argv = [
        sys.executable,
        "-m",
        "ticketflow.smtp_sink",
        "--port",
        str(port),
        "--dir",
        str(mail_dir),
    ]
    sink = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert sink.poll() is None, sink.communicate()[0].decode()
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "the sink never listened"
                time.sleep(0.2)
        with client:
            client.send_message(make_message("standalone"))
        sink.send_signal(signal.SIGINT)
        output, _ = sink.communicate(timeout=60)
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()

    assert sink.returncode == 0, output.decode()
    [path] = saved(mail_dir)
    assert read(path)["Subject"] == "standalone"
    assert path.name in output.decode()
