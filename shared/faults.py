"""Fault injection for crash tests: SIMALIK_FAULT="<point>[:<nth>]" kills the process
with SIGKILL the nth time it passes <point> — a real crash, not an exception that
cleanup code could catch."""

from __future__ import annotations

import os
import signal
from collections import Counter

_passes: Counter[str] = Counter()


def point(name: str, configured: str | None = None) -> None:
    spec = configured if configured is not None else os.environ.get("SIMALIK_FAULT", "")
    if not spec:
        return
    for item in spec.split(","):
        target, _, nth = item.partition(":")
        if target.strip() != name:
            continue
        _passes[name] += 1
        if _passes[name] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
