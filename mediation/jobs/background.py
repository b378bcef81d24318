"""In-process jobs of the embedded setup: the outbox every few seconds, the deadline sweep
every minute, in one daemon thread of ``mediation serve``."""

from __future__ import annotations

import logging
import threading
import time

from mediation.jobs.outbox import process_outbox
from mediation.runtime import Runtime

log = logging.getLogger(__name__)


class BackgroundJobs(threading.Thread):
    """Sweeps deadlines every ``sweep_interval`` seconds and drains the outbox."""

    def __init__(self, rt: Runtime, outbox_interval: float = 3.0):
        super().__init__(name="mediation-jobs", daemon=True)
        self.rt = rt
        self.outbox_interval = outbox_interval
        self.stopping = threading.Event()

    def run(self) -> None:
        """Loop until :meth:`stop`."""
        next_sweep = 0.0
        while not self.stopping.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    report = self.rt.sweep()
                    if report.fired or report.errors:
                        log.info("sweep: %s", report)
                    next_sweep = time.monotonic() + self.rt.config.sweep_interval
                process_outbox(self.rt)
            except Exception:  # keep the thread alive; the next round retries
                log.exception("background jobs failed")
            self.stopping.wait(self.outbox_interval)

    def stop(self) -> None:
        """Ask the loop to end."""
        self.stopping.set()
