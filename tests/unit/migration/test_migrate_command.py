"""`citybus migrate` against an orchestrator that is not there, not the orchestrator, or busy:
a clear error (exit 2) or patience, never a traceback."""
from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from citybus.cli import main

PERSON = ["--person", "440301199001011234", "--from", "440300", "--to", "442000"]
FINAL = {"migration_id": "m-1", "subject_type": "PERSON", "subject_id": PERSON[1], "from_city": "440300",
         "to_city": "442000", "status": "COMPLETED", "reason": None, "scopes": {}}


def serve(answers: list[tuple[int, str, bytes]], posted: list[dict] | None = None) -> Iterator[str]:
    """An HTTP server answering each request with the next answer (the last one from then on);
    the bodies POSTed are put in `posted`."""
    queue = list(answers)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, kind, body = queue.pop(0) if len(queue) > 1 else queue[0]
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if posted is not None:
                posted.append(body)
            self._answer()

        do_GET = _answer  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def migrate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["citybus", "migrate", *PERSON, "--url", url, "--timeout", "30"])
    with pytest.raises(SystemExit) as ended:
        main()
    captured = capsys.readouterr()
    return ended.value.code, captured.err + captured.out


def test_no_orchestrator_at_the_url_is_one_clear_error(monkeypatch, capsys) -> None:  # noqa: ANN001
    """aiohttp's ClientConnectorError went out as a traceback, exit 1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    code, out = migrate(monkeypatch, capsys, url)
    assert code == 2 and f"error: cannot reach the migration orchestrator at {url}" in out
    assert "Traceback" not in out


def test_a_url_that_is_no_url_is_one_clear_error(monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out = migrate(monkeypatch, capsys, "orchestrator")  # InvalidUrlClientError traceback
    assert code == 2 and "error: cannot reach the migration orchestrator at orchestrator" in out


def test_another_server_at_the_url_is_named_not_decoded(monkeypatch, capsys) -> None:  # noqa: ANN001
    """A web server that is not the orchestrator (HTML 404): ContentTypeError traceback."""
    for url in serve([(404, "text/html", b"<h1>Not Found</h1>")]):
        code, out = migrate(monkeypatch, capsys, url)
        assert code == 2 and f"error: {url} answered 404 text/html, not the migration" in out


def test_a_503_while_following_is_asked_again(monkeypatch, capsys) -> None:  # noqa: ANN001
    """README: GET /migrations/{id} is 503 while partitions are being assigned; `migrate` died on
    the first one with ClientResponseError instead of asking again."""
    started = json.dumps({"migration_id": "m-1", "status": "IN_PROGRESS"}).encode()
    busy = (503, "application/json", b'{"error": "partition being assigned"}')
    for url in serve([(202, "application/json", started), busy, busy,
                      (200, "application/json", json.dumps(FINAL).encode())]):
        code, out = migrate(monkeypatch, capsys, url)
    assert code == 0 and "COMPLETED" in out


def test_a_503_on_the_request_is_posted_again_with_the_migration_id_it_names(monkeypatch, capsys) -> None:  # noqa: ANN001
    """The orchestrator answers 503 naming the migration_id when the bus did not take the request;
    `migrate` took it for a refusal (exit 2) instead of posting again with that id."""
    posted: list[dict] = []
    busy = json.dumps({"migration_id": "m-1", "error": "the bus did not take the request"}).encode()
    started = json.dumps({"migration_id": "m-1", "status": "IN_PROGRESS"}).encode()
    for url in serve([(503, "application/json", busy), (202, "application/json", started),
                      (200, "application/json", json.dumps(FINAL).encode())], posted):
        code, out = migrate(monkeypatch, capsys, url)
    assert code == 0 and "COMPLETED" in out
    assert len(posted) == 2 and "migration_id" not in posted[0] and posted[1] == {**posted[0], "migration_id": "m-1"}
