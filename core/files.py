"""Stored files, wherever the storage keeps them (local disk or an S3-compatible store)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db.models.fields.files import FieldFile

COPY_CHUNK = 1 << 20


@contextmanager
def local_path(stored: FieldFile, *, workdir: Path | None = None) -> Iterator[Path]:
    """A path on this machine to `stored`, for code that needs one (lxml's second pass re-reads
    the file to locate errors): the file itself where the storage is a local disk, else a
    temporary copy streamed from the store and deleted afterwards. Web and workers then need no
    shared disk."""
    try:
        path = stored.path
    except NotImplementedError:  # object stores have no local path
        path = None
    if path is not None:
        yield Path(path)
        return
    with tempfile.NamedTemporaryFile(dir=workdir, prefix="stored-", suffix=Path(stored.name).suffix) as copy:
        with stored.open("rb") as source:
            shutil.copyfileobj(source, copy, COPY_CHUNK)
        copy.flush()
        yield Path(copy.name)
