"""The one refusal: a write the portal will not make, refused before anything changes."""


class ActionRefused(Exception):
    """Refused with a sentence that says why and what to do instead, and a stable code for API
    clients (e.g. collection_closed, not_xml, reason_required). Code "forbidden" means the role
    does not allow it (HTTP 403); any other code is a request that cannot be met as it is (400)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def http_status(self) -> int:
        return 403 if self.code == "forbidden" else 400
