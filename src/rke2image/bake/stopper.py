"""Stopping Packer well: forward Ctrl-C/SIGTERM once, and bound a build's time.

Packer runs in a session of its own, so a terminal's Ctrl-C reaches only us;
we forward one SIGINT to Packer's process group (Packer then cancels and
cleans up: deletes its output, stops the VM, removes cloud resources) and wait
for it. The outer timeout does the same and kills the group after a grace
time, because Packer 1.6.6 can ignore signals while it waits for a guest to
power off.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

KILL_GRACE_SECONDS = 30.0
FORWARDED = (signal.SIGINT, signal.SIGTERM)


class Stopper:
    """Context manager around a running Packer: forwards signals, enforces the timeout."""

    def __init__(self, proc: subprocess.Popen[str], timeout: float | None = None) -> None:
        self.proc = proc
        self.timeout = timeout
        self.reason: str | None = None  # "SIGINT", "SIGTERM" or "timeout" once stopped
        self._saved: dict[int, Any] = {}
        self._timers: list[threading.Timer] = []

    def __enter__(self) -> Stopper:
        # Python only lets the main thread install signal handlers.
        if threading.current_thread() is threading.main_thread():
            for signum in FORWARDED:
                self._saved[signum] = signal.signal(signum, self._on_signal)
        if self.timeout:
            self._start_timer(self.timeout, self._timed_out)
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        for timer in self._timers:
            timer.cancel()
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.reason is None:  # one forward: a second SIGINT would skip Packer's cleanup
            self.reason = signal.Signals(signum).name
            self._send(signal.SIGINT)

    def _timed_out(self) -> None:
        self.reason = self.reason or "timeout"
        self._send(signal.SIGINT)
        self._start_timer(KILL_GRACE_SECONDS, lambda: self._send(signal.SIGKILL))

    def _start_timer(self, seconds: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # Packer has exited already
            os.killpg(self.proc.pid, signum)
