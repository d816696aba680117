#!/usr/bin/env python3
"""The app's /healthz, which pings the database: 200 only when both work."""
import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:8000/healthz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure is "unhealthy"; the reason goes to the health log
    print(f"unhealthy: {exc}")
    sys.exit(1)
