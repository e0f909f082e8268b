"""The upload size limit, enforced while the request body is read.

UploadLimitHandler comes first in FILE_UPLOAD_HANDLERS. It stops reading the body (StopUpload,
without draining the rest) as soon as the declared Content-Length or the file's bytes received
pass MAX_UPLOAD_BYTES, before the spooling handlers write anything more. The view then finds
the refusal through the_uploaded_file(request), which reads the body first.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat

from core.errors import ActionRefused

# Multipart framing and the form's small fields around the file (CSRF token, provider): a
# declared body this much over the limit cannot hold a file within it.
FRAMING_ALLOWANCE = 64 * 1024


def file_too_large_message(*, size: int, limit: int, at_least: bool = False, what: str = "The file") -> str:
    """Both sizes, never the same-looking pair ("976.6 KB; the limit is 976.6 KB"): in exact bytes
    when the rounded forms would read alike."""
    qualifier = "at least " if at_least else ""
    if filesizeformat(size) == filesizeformat(limit):
        sizes = f"{what} is {qualifier}{size:,} bytes; the limit is {limit:,} bytes ({filesizeformat(limit)})"
    else:
        sizes = f"{what} is {qualifier}{filesizeformat(size)}; the limit is {filesizeformat(limit)}"
    return f"{sizes}. Check it is the right file; a larger one cannot be uploaded."


class UploadLimitHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.MAX_UPLOAD_BYTES
        self.declared = 0
        self.received = 0
        self.refusal: str | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Not refused here: the form fields before the file (the CSRF token) must still be read,
        # or the answer would be a CSRF failure instead of this message.
        self.declared = content_length or 0
        return None

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        if content_length and content_length > self.limit:
            self._stop(file_too_large_message(size=content_length, limit=self.limit))
        if self.declared > self.limit + FRAMING_ALLOWANCE:
            self._stop(file_too_large_message(size=self.declared, limit=self.limit, what="The upload"))

    def receive_data_chunk(self, raw_data, start):
        self.received = start + len(raw_data)
        if self.received > self.limit:
            self._stop(file_too_large_message(size=self.received, limit=self.limit, at_least=True))
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the file

    def _stop(self, message: str):
        self.refusal = message
        # connection_reset: do not read (and discard) the rest of the body either.
        raise StopUpload(connection_reset=True)


def upload_stopped_message(request) -> str | None:
    """Why the size-limit handler stopped reading this request's upload, if it did."""
    for handler in getattr(request, "upload_handlers", ()):
        if isinstance(handler, UploadLimitHandler) and handler.refusal:
            return handler.refusal
    return None


def the_uploaded_file(request):
    """The one file sent in the form's "file" field, or None. Refused when the body was stopped at
    the size limit (reading FILES is what runs the limit handler), and when there are several
    rather than one of them taken silently (a client that sends two cannot tell which was used)."""
    files = request.FILES.getlist("file")
    if stopped := upload_stopped_message(request):
        raise ActionRefused(stopped, code="file_too_large")
    if len(files) > 1:
        raise ActionRefused(
            f"{len(files)} files were sent in one upload: send one file at a time.", code="several_files"
        )
    return files[0] if files else None
