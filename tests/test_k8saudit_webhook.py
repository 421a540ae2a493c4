"""The k8saudit webhook source over a real loopback socket (127.0.0.1 only): POSTed audit events come
out as events; malformed bodies, oversized bodies, wrong content types, wrong methods and wrong paths
get the official plugin's HTTP answers and never stop the stream. Every server here is bounded in
time and closed by the test."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from falcoplug.framework import Inspector

EVENT = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "w-1", "stage": "ResponseComplete",
         "verb": "create", "stageTimestamp": "2024-05-01T08:00:00.000001Z",
         "objectRef": {"resource": "pods", "namespace": "default", "name": "p"}}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_webhook(config: str = "", scheme: str = "http") -> tuple[Inspector, int]:
    host = Inspector()
    host.load("k8saudit", config)
    host.load("json")
    for _ in range(5):
        port = free_port()
        try:
            host.open("k8saudit", f"{scheme}://127.0.0.1:{port}/k8s-audit")
            return host, port
        except Exception:  # noqa: BLE001 - the port was taken in between: try another
            time.sleep(0.05)
    raise RuntimeError("no free port")


def collect(host: Inspector, count: int, timeout: float = 10.0) -> list[dict]:
    """Events until ``count`` arrived (or the timeout interrupts the stream)."""
    got: list[dict] = []
    timer = threading.Timer(timeout, host.interrupt)
    timer.start()
    try:
        for batch in host.batches():
            got += [json.loads(e.payload) for e in batch]
            if len(got) >= count:
                break
    finally:
        timer.cancel()
    return got


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes = b"",
            ctype: str | None = "application/json", headers: dict | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:  # fmt: skip
    hdrs = dict(headers or {})
    if ctype is not None:
        hdrs["Content-Type"] = ctype
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data, resp


def test_webhook_answers_and_events(caplog):
    host, port = open_webhook('{"webhookMaxBatchSize": 2000}')
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        status, body, _ = request(conn, "POST", "/k8s-audit", json.dumps(EVENT).encode())
        assert (status, body) == (200, b"")
        items = [dict(EVENT, auditID="w-2"), dict(EVENT, auditID="w-3")]
        status, _, _ = request(conn, "POST", "/k8s-audit?x=1", json.dumps({"kind": "EventList", "items": items}).encode(),
                               ctype="application/json; charset=utf-8")  # fmt: skip
        assert status == 200
        # Malformed JSON is answered 200 (parsed after the answer), logged and dropped.
        assert request(conn, "POST", "/k8s-audit", b"{not json")[:2] == (200, b"")
        assert request(conn, "POST", "/k8s-audit", b'{"kind":"Pod"}')[:2] == (200, b"")
        # Wrong content type, method, path: Go's http.Error answers.
        status, body, resp = request(conn, "POST", "/k8s-audit", json.dumps(EVENT).encode(), ctype="text/plain")
        assert (status, body) == (400, b"wrong Content Type\n")
        assert resp.getheader("Content-Type") == "text/plain; charset=utf-8"
        assert resp.getheader("X-Content-Type-Options") == "nosniff"
        assert request(conn, "POST", "/k8s-audit", json.dumps(EVENT).encode(), ctype=None)[:2] == (400, b"wrong Content Type\n")
        assert request(conn, "GET", "/k8s-audit")[:2] == (405, b"GET method not allowed\n")
        assert request(conn, "PUT", "/k8s-audit", b"{}")[:2] == (405, b"PUT method not allowed\n")
        assert request(conn, "POST", "/other", json.dumps(EVENT).encode())[:2] == (404, b"404 page not found\n")
        conn.close()
        # Over webhookMaxBatchSize: 400, the connection is closed.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        big = json.dumps(dict(EVENT, auditID="big", pad="x" * 3000)).encode()
        assert request(conn, "POST", "/k8s-audit", big)[:2] == (400, b"bad request: http: request body too large\n")
        conn.close()
        # Chunked bodies are read too; the stream goes on after every bad request.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.putrequest("POST", "/k8s-audit")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        payload = json.dumps(dict(EVENT, auditID="w-4")).encode()
        for part in (payload[:10], payload[10:]):
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"")
        assert request(conn, "POST", "/k8s-audit", json.dumps(dict(EVENT, auditID="w-5")).encode())[0] == 200
        conn.close()
        got = collect(host, 5)
        assert [e["auditID"] for e in got] == ["w-1", "w-2", "w-3", "w-4", "w-5"]
    finally:
        host.destroy()
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "data not recognized as a k8s audit event" in messages
    assert "bad request: http: request body too large" in messages


def test_webhook_fields_and_oversized_events(caplog):
    host, port = open_webhook('{"maxEventSize": 400}')
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        big = dict(EVENT, auditID="big", pad="y" * 500)
        for doc in (EVENT, big, dict(EVENT, auditID="w-9")):
            assert request(conn, "POST", "/k8s-audit", json.dumps(doc).encode())[0] == 200
        conn.close()
        plan = host.plan("k8s_audit", ["ka.auditid", "ka.target.resource", "jevt.value[/verb]", "evt.time.iso8601"])
        rows: list[list] = []
        timer = threading.Timer(10, host.interrupt)
        timer.start()
        for batch in host.batches():
            rows += [row for _, row in plan.rows(batch)]
            if len(rows) >= 2:
                break
        timer.cancel()
        assert [r[:3] for r in rows] == [["w-1", "pods", "create"], ["w-9", "pods", "create"]]
        assert rows[0][3].startswith("2024-05-01T08:00:00.000001")
    finally:
        host.destroy()
    size = len(json.dumps(big))
    assert any(f"event larger than maxEventSize: size={size}" in r.getMessage() for r in caplog.records)


def test_busy_port_fails_the_open():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        host = Inspector()
        host.load("k8saudit")
        with pytest.raises(Exception, match="could not open plugin k8saudit"):
            host.open("k8saudit", f"http://127.0.0.1:{port}/k8s-audit")
        host.destroy()


def self_signed(tmp_path: Path) -> Path:
    """A PEM file with a self-signed certificate for 127.0.0.1 and its key (as sslCertificate expects)."""
    pem = tmp_path / "falco.pem"
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor the openssl command is available to make a certificate")
        key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        pem.write_bytes(cert.read_bytes() + key.read_bytes())
        return pem
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(private, hashes.SHA256())
    )  # fmt: skip
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pem


def test_https_webhook(tmp_path):
    pem = self_signed(tmp_path)
    host, port = open_webhook(json.dumps({"sslCertificate": str(pem)}), scheme="https")
    try:
        context = ssl.create_default_context(cafile=str(pem))
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
        assert request(conn, "POST", "/k8s-audit", json.dumps(EVENT).encode())[:2] == (200, b"")
        assert request(conn, "GET", "/k8s-audit")[:2] == (405, b"GET method not allowed\n")
        conn.close()
        assert [e["auditID"] for e in collect(host, 1)] == ["w-1"]
    finally:
        host.destroy()


def test_https_needs_a_certificate(tmp_path):
    host = Inspector()
    host.load("k8saudit", json.dumps({"sslCertificate": str(tmp_path / "missing.pem")}))
    with pytest.raises(Exception, match="could not open plugin k8saudit"):
        host.open("k8saudit", f"https://127.0.0.1:{free_port()}/k8s-audit")
    host.destroy()


def test_broken_clients_get_no_traceback_and_the_stream_goes_on(capfd):
    host, port = open_webhook()
    try:
        # a client that sends half a body and leaves
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{\"kind\":")  # fmt: skip
        # a bad Content-Length and a garbage request line
        for raw in (b"POST /k8s-audit HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n",
                    b"NOT HTTP AT ALL\r\n\r\n"):  # fmt: skip
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(raw)
                answer = s.recv(4096)
                assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400"), answer
                assert b"<html" not in answer.lower()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        status, _, _ = request(conn, "POST", "/k8s-audit", json.dumps(dict(EVENT, auditID="after")).encode())
        assert status == 200
        assert [e["auditID"] for e in collect(host, 1)] == ["after"]
    finally:
        host.destroy()
    assert "Traceback" not in capfd.readouterr().err
