"""`make run`: starts every process of the services in the foreground, prefixes
their output with the process name, and stops them all on Ctrl-C (or when one
dies, so nothing is left half-running)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from importlib.util import find_spec

PROCESSES = [
    ("agenda-api", "services.agenda", "api"),
    ("agenda-relay", "services.agenda", "relay"),
    ("newsroom-api", "services.newsroom", "api"),
    ("newsroom-consumer", "services.newsroom", "consume"),
    ("newsroom-relay", "services.newsroom", "relay"),
    ("scoring-api", "services.scoring", "api"),
    ("scoring-consumer", "services.scoring", "consume"),
]


def _exists(module: str) -> bool:
    try:
        return find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


def available() -> list[tuple[str, str, str]]:
    return [p for p in PROCESSES if _exists(p[1])]


async def _pump(name: str, stream: asyncio.StreamReader, out) -> None:
    width = max(len(p[0]) for p in PROCESSES)
    while line := await stream.readline():
        out.write(f"{name:<{width}} | {line.decode(errors='replace')}")
        out.flush()


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, SIGTERM when the supervisor dies, even
    by SIGKILL, so a killed demo or test leaves no process behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


async def start(processes, env: dict[str, str] | None = None, quiet: bool = False):
    children = []
    for name, module, command in processes:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, command, env={**os.environ, **(env or {})},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        sink = open(os.devnull, "w") if quiet else sys.stdout  # noqa: SIM115
        asyncio.create_task(_pump(name, proc.stdout, sink))
        children.append((name, proc))
    return children


async def stop(children, timeout: float = 15) -> None:
    for _, proc in children:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for _, proc in children:
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def main() -> int:
    # Migrate each service once before its processes race to do it.
    for module in sorted({p[1] for p in available()}):
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", module, "migrate")
        if await proc.wait() != 0:
            print(f"Migrasi {module} gagal; periksa PostgreSQL (lihat README).", file=sys.stderr)
            return 1
    children = await start(available())
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    waiters = [asyncio.create_task(p.wait()) for _, p in children]
    stopper = asyncio.create_task(done.wait())
    finished, _ = await asyncio.wait([*waiters, stopper], return_when=asyncio.FIRST_COMPLETED)
    if stopper not in finished:
        dead = [n for n, p in children if p.returncode is not None]
        print(f"Proses berhenti: {', '.join(dead)}; menghentikan semua.", file=sys.stderr)
    await stop(children)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
