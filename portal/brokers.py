"""Which Celery broker the demo uses, and kombu's filesystem transport for a machine with none.

`./scripts/demo` runs a real worker, so a newcomer sees an upload move through its stages: on
Redis when one answers on this machine, otherwise on kombu's filesystem transport (messages are
files in a folder), which needs no server. Production uses Redis (docker-compose.yml).
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

FILESYSTEM_BROKER = "filesystem://"
DEMO_REDIS_URL = "redis://127.0.0.1:6379/5"  # a database of its own, away from the tests' and CI's


def redis_answers(url: str, *, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING at `url` (no client library needed, nothing stored)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def demo_broker_url(redis_url: str = DEMO_REDIS_URL) -> str:
    return redis_url if redis_answers(redis_url) else FILESYSTEM_BROKER


def filesystem_transport_options(folder: Path) -> dict:
    """kombu's filesystem transport: every process (web, worker) must use the same folder."""
    queue, control = Path(folder) / "queue", Path(folder) / "control"
    for path in (queue, control):
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(control),  # exchange tables; by default a "control" folder in the cwd
        "store_processed": False,
    }
