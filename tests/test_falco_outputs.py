"""``falcoplug falco``'s alert outputs: every enabled channel gets every alert (stdout, file,
program, an HTTP receiver on 127.0.0.1, syslog on a local socket), failures are reported without
stopping the others, and a full outputs queue drops and counts instead of blocking."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from falcoplug.falco.cli import main
from falcoplug.falco.outputs import Message, OutputError, Outputs
from falcoplug.rules import Priority

DATA = Path(__file__).resolve().parent.parent / "src" / "falcoplug" / "plugins" / "data" / "k8s_audit"
RULE = """
- rule: Every audit event
  desc: every k8s audit event [tests]
  condition: ka.verb exists
  output: "verb=%ka.verb user=%ka.user.name"
  priority: WARNING
  source: k8s_audit
  tags: [t1]
"""


def falco_yaml(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "falco.yaml"
    config.write_text(
        "plugins:\n"
        f"  - {{name: k8saudit, library_path: k8saudit, init_config: '', open_params: {DATA / 'create_configmap.json'}}}\n"
        "  - {name: json, library_path: json, init_config: ''}\n"
        "load_plugins: [k8saudit, json]\n" + extra
    )
    (tmp_path / "rules.yaml").write_text(RULE)
    return config


def run(tmp_path: Path, *args: str, extra: str = "") -> int:
    config = falco_yaml(tmp_path, extra)
    return main(["-c", str(config), "-r", str(tmp_path / "rules.yaml"), "--disable-source=syscall", *args])


class Receiver(BaseHTTPRequestHandler):
    bodies: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    class Handler(Receiver):
        bodies: list[tuple[dict[str, str], bytes]] = []

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", Handler.bodies
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def syslog_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = str(tmp_path / "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    monkeypatch.setenv("FALCOPLUG_SYSLOG_SOCKET", path)
    yield sock
    sock.close()


def test_every_channel_gets_every_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str], receiver: Any,
                                        syslog_socket: socket.socket) -> None:  # fmt: skip
    url, bodies = receiver
    alerts_file = tmp_path / "alerts.txt"
    program_file = tmp_path / "program.txt"
    extra = (
        "json_output: true\n"
        "stdout_output: {enabled: true}\n"
        f"file_output: {{enabled: true, keep_alive: false, filename: {alerts_file}}}\n"
        f"program_output: {{enabled: true, keep_alive: true, program: 'cat >> {program_file}'}}\n"
        f"http_output: {{enabled: true, url: '{url}', user_agent: 'falcosidekick-test/1'}}\n"
        "syslog_output: {enabled: true}\n"
    )
    assert run(tmp_path, extra=extra) == 0
    out = capsys.readouterr().out.splitlines()
    alert = json.loads(out[0])
    assert alert["rule"] == "Every audit event" and alert["priority"] == "Warning"
    assert alert["output_fields"]["ka.verb"] == "create" and out[1] == "Events detected: 1"
    assert [json.loads(line) for line in alerts_file.read_text().splitlines()] == [alert]
    assert [json.loads(line) for line in program_file.read_text().splitlines()] == [alert]
    headers, body = bodies[0]
    assert json.loads(body) == alert and len(bodies) == 1
    assert headers["Content-Type"] == "application/json" and headers["User-Agent"] == "falcosidekick-test/1"
    # falcosidekick's fields are all there
    assert {"output", "priority", "rule", "time", "output_fields", "source", "tags", "hostname"} <= set(json.loads(body))
    datagram = syslog_socket.recv(65536).decode()
    assert datagram.startswith(f"<{8 + int(Priority.WARNING)}>") and " falco[" in datagram
    assert datagram.endswith(out[0])


def test_text_alerts_to_http_are_plain_text_with_falcos_user_agent(tmp_path: Path, receiver: Any,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    url, bodies = receiver
    assert run(tmp_path, "-o", "http_output.enabled=true", "-o", f"http_output.url={url}") == 0
    headers, body = bodies[0]
    assert headers["Content-Type"] == "text/plain" and headers["User-Agent"].startswith("falcosecurity/falco/0.44")
    assert body.decode().endswith(": Warning verb=create user=minikube-user")


def test_a_failing_output_is_reported_and_the_others_still_deliver(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nobody listens there: the receiver is down
    alerts_file = tmp_path / "alerts.txt"
    extra = (f"http_output: {{enabled: true, url: 'http://127.0.0.1:{port}/'}}\n"
             f"file_output: {{enabled: true, keep_alive: true, filename: {alerts_file}}}\n")  # fmt: skip
    assert run(tmp_path, extra=extra) == 0
    captured = capsys.readouterr()
    assert f"http output: http_output: request to http://127.0.0.1:{port}/ failed" in captured.err
    assert "Alerts the http output failed to deliver: 1" in captured.out
    assert alerts_file.read_text().endswith(": Warning verb=create user=minikube-user\n")


def test_program_output_without_keep_alive_runs_once_per_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "once.txt"
    rules = tmp_path / "two.yaml"
    rules.write_text(RULE + RULE.replace("Every audit event", "Second rule"))
    extra = f"rule_matching: all\nprogram_output: {{enabled: true, program: 'cat >> {target}; echo run >> {target}'}}\n"
    config = falco_yaml(tmp_path, extra)
    assert main(["-c", str(config), "-r", str(rules), "--disable-source=syscall"]) == 0
    lines = target.read_text().splitlines()
    assert lines[1::2] == ["run", "run"] and all("verb=create" in line for line in lines[0::2])


def test_file_output_keep_alive_and_unbuffered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "kept.txt"
    extra = f"buffered_outputs: true\nfile_output: {{enabled: true, keep_alive: true, filename: {target}}}\n"
    assert run(tmp_path, "-U", extra=extra) == 0
    assert target.read_text().count("verb=create") == 1


class Slow:
    name = "slow"

    def __init__(self) -> None:
        self.got: list[str] = []
        self.release = threading.Event()

    def output(self, message: Message) -> None:
        self.release.wait(5)
        self.got.append(message.text)

    def close(self) -> None:
        pass


class Broken:
    name = "broken"

    def output(self, message: Message) -> None:
        raise OutputError("receiver is down")

    def close(self) -> None:
        pass


def test_a_slow_output_never_blocks_beyond_the_queue_capacity() -> None:
    slow, reports = Slow(), []
    outputs = Outputs([slow, Broken()], capacity=2, report=reports.append)
    started = time.monotonic()
    for i in range(20):
        outputs.handle(Message(f"alert {i}", Priority.WARNING, "r", False))
    assert time.monotonic() - started < 1.0  # the event loop went on
    slow.release.set()
    outputs.close()
    assert outputs.drops == 20 - len(slow.got) and 1 <= len(slow.got) <= 3
    assert outputs.failures["broken"] == len(slow.got)
    assert reports[0].startswith("Outputs queue out of capacity (2)") and reports.count("broken output: receiver is down") == 1
    assert outputs.summary_lines()[0] == f"Alerts dropped by the outputs queue: {outputs.drops}"


def test_min_priority_filters_what_every_output_gets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "alerts.txt"
    extra = f"priority: error\nfile_output: {{enabled: true, filename: {target}}}\n"
    assert run(tmp_path, extra=extra) == 0
    assert not target.exists() and "Events detected: 0" in capsys.readouterr().out


@pytest.fixture
def https_receiver(tmp_path: Path) -> Iterator[tuple[str, Path, list[tuple[dict[str, str], bytes]]]]:
    """An HTTPS receiver on 127.0.0.1 with a self-signed certificate made for the test."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the HTTPS receiver")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip

    class Handler(Receiver):
        bodies: list[tuple[dict[str, str], bytes]] = []

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/", cert, Handler.bodies
    finally:
        server.shutdown()
        server.server_close()


def test_https_output_verifies_with_ca_cert_or_goes_insecure(tmp_path: Path, https_receiver: Any,
                                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    url, cert, bodies = https_receiver
    base = ["-o", "http_output.enabled=true", "-o", f"http_output.url={url}", "-o", "json_output=true"]
    assert run(tmp_path, *base, "-o", "stdout_output.enabled=true") == 0
    assert not bodies and "certificate verify failed" in capsys.readouterr().err  # self-signed: refused
    assert run(tmp_path, *base, "-o", f"http_output.ca_cert={cert}") == 0
    assert run(tmp_path, *base, "-o", "http_output.insecure=true") == 0
    assert len(bodies) == 2 and all(json.loads(body)["rule"] == "Every audit event" for _, body in bodies)


def test_metrics_count_the_queue_drops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "-o", "metrics.enabled=true", extra="stdout_output: {enabled: true}\n") == 0
    captured = capsys.readouterr()
    assert "falco.outputs_queue_num_drops 0" in captured.err and "Events detected: 1" in captured.out
