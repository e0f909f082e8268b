"""Docker healthcheck for the web container: GET a health endpoint of the portal on this host.

    python scripts/healthcheck.py /health/ready

Exit 0 on 200, 1 otherwise (503, no answer). The Host header is the first ALLOWED_HOSTS entry,
so the probe passes Django's host check whatever the deployment's host names are.
"""

import os
import sys
import urllib.request

path = sys.argv[1] if len(sys.argv) > 1 else "/health/live"
port = os.environ.get("PORT", "8000")
host = (os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip() or "localhost").lstrip(".")
if host == "*":
    host = "localhost"
request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})  # noqa: S310
try:
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a fixed local http URL)
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # 503 (HTTPError) or no answer: unhealthy
    print(f"{path}: {exc}", file=sys.stderr)
    sys.exit(1)
