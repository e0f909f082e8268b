"""The upload size limit is enforced while the body is read (issue 15, defect 6).

A body over MAX_UPLOAD_BYTES is refused as soon as its declared Content-Length or the file's
bytes received pass the limit: the rest is never read, nothing reaches the handlers that spool
to memory or disk, nothing is stored, and the message gives both sizes distinctly.
"""

import json
import select
import socket
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from collections_app import services
from collections_app.models import Submission
from collections_app.uploads import FRAMING_ALLOWANCE, file_too_large_message
from core.errors import ActionRefused

MB = 1024 * 1024
WEB_UPLOAD = "/collections/C23051/upload/"
API_UPLOAD = "/api/v1/collections/C23051/submissions/"
BOUNDARY = "----portal-test-boundary"
PARSER_READ = 64 * 1024  # Django's multipart parser reads the body in chunks of this size


class StreamedBody:
    """A multipart body of known length, generated as it is read (never held in memory), that
    counts how many bytes the server read."""

    def __init__(self, *, file_size: int, fields: dict | None = None):
        head = "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in (fields or {}).items()
        )
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.xml"\r\n'
            "Content-Type: application/xml\r\n\r\n"
        )
        self.parts = [head.encode(), None, f"\r\n--{BOUNDARY}--\r\n".encode()]
        self.file_size = file_size
        self.length = len(self.parts[0]) + file_size + len(self.parts[2])
        self.consumed = 0

    def _bytes(self, start: int, size: int) -> bytes:
        out = bytearray()
        offset = 0
        for part, length in zip(self.parts, (len(self.parts[0]), self.file_size, len(self.parts[2])), strict=True):
            lo, hi = max(start, offset), min(start + size, offset + length)
            if lo < hi and part is not None:
                out += part[lo - offset : hi - offset]
            elif lo < hi:  # the file: "<" then filler
                out += (b"<" if lo == offset else b"x") + b"x" * (hi - lo - 1)
            offset += length
        return bytes(out)

    def read(self, size=-1):
        remaining = self.length - self.consumed
        size = remaining if size is None or size < 0 else min(size, remaining)
        data = self._bytes(self.consumed, size)
        self.consumed += len(data)
        return data

    readline = read  # LimitedStream wants one; the multipart parser only reads

    def environ(self) -> dict:
        return {
            "wsgi.input": self,
            "CONTENT_LENGTH": str(self.length),
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        }


@pytest.fixture
def spooled(monkeypatch):
    """Bytes that reached Django's spooling handlers (memory, then temporary file on disk)."""
    received = {"memory": 0, "disk": 0}

    def counting(handler_class, key):
        original = handler_class.receive_data_chunk

        def receive_data_chunk(self, raw_data, start):
            received[key] += len(raw_data)
            return original(self, raw_data, start)

        monkeypatch.setattr(handler_class, "receive_data_chunk", receive_data_chunk)

    counting(MemoryFileUploadHandler, "memory")
    counting(TemporaryFileUploadHandler, "disk")
    return received


@pytest.fixture
def small_limit(settings):
    settings.MAX_UPLOAD_BYTES = MB
    return MB


def nothing_stored(settings):
    media = settings.MEDIA_ROOT
    return Submission.objects.count() == 0 and not (media.exists() and any(p.is_file() for p in media.rglob("*")))


# -- the message ----------------------------------------------------------------------------


def test_message_gives_exact_bytes_when_the_rounded_sizes_would_read_alike():
    message = file_too_large_message(size=1_000_001, limit=1_000_000)
    assert message.startswith("The file is 1,000,001 bytes; the limit is 1,000,000 bytes (976.6\xa0KB).")


def test_message_gives_rounded_sizes_when_they_differ():
    message = file_too_large_message(size=200 * MB, limit=MB, at_least=True)
    assert message.startswith("The file is at least 200.0\xa0MB; the limit is 1.0\xa0MB.")


def test_service_check_names_both_sizes_distinctly(settings, provider_user, collection):
    """The second line of defence (the file already read, e.g. by a command): was
    "The file is 976.6 KB; the limit is 976.6 KB"."""
    settings.MAX_UPLOAD_BYTES = 1_000_000
    upload = SimpleUploadedFile("big.xml", b"<" + b"x" * 1_000_000, content_type="application/xml")
    with pytest.raises(ActionRefused) as refused:
        services.submission_create(
            collection=collection, provider=provider_user.provider, user=provider_user, uploaded_file=upload
        )
    assert refused.value.code == "file_too_large"
    assert "1,000,001 bytes; the limit is 1,000,000 bytes" in refused.value.message
    assert Submission.objects.count() == 0


# -- stopped while reading: web form --------------------------------------------------------


def test_web_upload_declaring_far_more_than_the_limit_is_refused_before_the_file_is_read(
    client, settings, small_limit, spooled, provider_user, collection
):
    client.force_login(provider_user)
    body = StreamedBody(file_size=200 * MB, fields={"csrfmiddlewaretoken": "unchecked-by-the-test-client"})
    response = client.generic("POST", WEB_UPLOAD, HTTP_X_REQUESTED_WITH="XMLHttpRequest", **body.environ())

    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "file_too_large"
    assert answer["detail"].startswith(f"The upload is {body.length / MB:.1f}\xa0MB; the limit is 1.0\xa0MB.")
    # The parser's first 64 KiB read (form fields, the file part's headers): no byte of the file
    # went further, and nothing more was read.
    assert body.consumed <= PARSER_READ, body.consumed
    assert spooled == {"memory": 0, "disk": 0}
    assert nothing_stored(settings)


def test_web_upload_without_script_is_redirected_with_the_message(
    client, settings, small_limit, provider_user, collection
):
    client.force_login(provider_user)
    body = StreamedBody(file_size=50 * MB)
    response = client.generic("POST", WEB_UPLOAD, **body.environ())

    assert response.status_code == 302 and response["Location"] == "/collections/C23051/"
    messages = [str(m) for m in client.get(response["Location"]).context["messages"]]
    assert len(messages) == 1 and messages[0].startswith("The upload is 50.0\xa0MB; the limit is 1.0\xa0MB.")
    assert body.consumed <= PARSER_READ
    assert nothing_stored(settings)


def test_a_file_passing_the_limit_within_the_framing_allowance_is_stopped_by_counting(
    client, settings, spooled, provider_user, collection
):
    """Declared length too close to the limit to judge: the handler counts the file's bytes and
    stops at the first chunk past the limit, before that chunk is spooled."""
    settings.MAX_UPLOAD_BYTES = 100_000
    client.force_login(provider_user)
    body = StreamedBody(file_size=150_000)
    assert body.length < settings.MAX_UPLOAD_BYTES + FRAMING_ALLOWANCE
    response = client.generic("POST", WEB_UPLOAD, HTTP_X_REQUESTED_WITH="XMLHttpRequest", **body.environ())

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("The file is at least ") and "; the limit is 97.7\xa0KB." in detail
    assert "at least 97.7" not in detail  # never the same-looking pair
    assert spooled["memory"] + spooled["disk"] <= settings.MAX_UPLOAD_BYTES
    assert body.consumed < body.length
    assert nothing_stored(settings)


def test_a_file_within_the_limit_is_still_accepted(client, settings, spooled, provider_user, collection):
    settings.MAX_UPLOAD_BYTES = 100_000
    client.force_login(provider_user)
    body = StreamedBody(file_size=90_000)
    response = client.generic("POST", WEB_UPLOAD, HTTP_X_REQUESTED_WITH="XMLHttpRequest", **body.environ())

    assert response.status_code == 202, response.content
    assert body.consumed == body.length
    assert spooled["memory"] == 90_000
    assert Submission.objects.get().size == 90_000


# -- stopped while reading: API -------------------------------------------------------------


def test_api_upload_declaring_far_more_than_the_limit_is_refused_before_the_file_is_read(
    settings, small_limit, spooled, liaison, provider, collection
):
    """The ukprn field after the file is never read: the size is the answer, not "say which provider"."""
    client = APIClient()
    client.force_authenticate(liaison)
    body = StreamedBody(file_size=200 * MB)
    ukprn_field = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="ukprn"\r\n\r\n{provider.ukprn}\r\n'
    body.parts[2] = f"\r\n{ukprn_field}--{BOUNDARY}--\r\n".encode()
    body.length = len(body.parts[0]) + body.file_size + len(body.parts[2])
    environ = body.environ()
    response = client.generic("POST", API_UPLOAD, content_type=environ.pop("CONTENT_TYPE"), **environ)

    assert response.status_code == 400
    assert response.json()["code"] == "file_too_large"
    assert response.json()["detail"].startswith("The upload is 200.0\xa0MB; the limit is 1.0\xa0MB.")
    assert body.consumed <= PARSER_READ
    assert spooled == {"memory": 0, "disk": 0}
    assert nothing_stored(settings)


@pytest.mark.django_db(transaction=True)
def test_live_server_answers_before_a_200_mb_body_is_sent(
    live_server, settings, small_limit, provider_user, collection
):
    """Over a real socket: the 400 arrives while the client is still sending, after a small
    part of the declared 200 MB (the rest is never read)."""
    token = Token.objects.create(user=provider_user)
    body = StreamedBody(file_size=200 * MB)
    url = urlsplit(live_server.url)
    head = (
        f"POST {API_UPLOAD} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Token {token.key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {body.length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()

    sent = 0
    answer = b""
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head)
        while sent < body.length:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(body.read(64 * 1024))
                except (BrokenPipeError, ConnectionResetError):
                    break
        # The development server reads and discards the rest once it has answered (gunicorn
        # closes instead), so read the answer by its length rather than until the socket closes.
        sock.settimeout(30)
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        headers, _, content = answer.partition(b"\r\n\r\n")
        length = int(next(h for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length:")).split(b":")[1])
        while len(content) < length:
            content += sock.recv(65536)

    assert headers.startswith(b"HTTP/1.1 400 Bad Request"), headers
    assert json.loads(content)["code"] == "file_too_large"
    # What the kernel buffers on both sides holds, not the body: the server read almost none of it.
    assert sent < 16 * MB, f"sent {sent:,} of {body.length:,} bytes before the answer"
    assert Submission.objects.count() == 0
