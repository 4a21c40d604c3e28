"""The emulator runtime: seed, state, settings, limiter, faults, stats and callbacks in one place."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

from smartdialog_sync.emulator.callbacks import CallbackWorker
from smartdialog_sync.emulator.config import EmulatorSettings
from smartdialog_sync.emulator.faults import FaultInjector, FaultSettings
from smartdialog_sync.emulator.ratelimit import SlidingWindowLimiter
from smartdialog_sync.emulator.seed import Seed
from smartdialog_sync.emulator.state import Catalog, State, StateFile
from smartdialog_sync.emulator.stats import Stats

SAVE_DELAY_SECONDS = 0.5


class Runtime:
    """Shared by every request handler through `request.app.state.runtime`."""

    def __init__(self, seed: Seed, settings: EmulatorSettings, faults: FaultSettings,
                 state_path: Path | None = None) -> None:
        self.seed = seed
        self.catalog = Catalog(seed)
        self.initial_settings = settings
        self.settings = dataclasses.replace(settings)
        self.initial_faults = faults
        self.faults = FaultInjector(faults)
        self.limiter = SlidingWindowLimiter(settings.rate_limit)
        self.stats = Stats()
        self.state_file = StateFile(state_path) if state_path else None
        self.state = (self.state_file.load() if self.state_file else None) or State.from_seed(seed)
        self.dlr_random = random.Random(settings.dlr_seed)
        self.callbacks = CallbackWorker(self)
        self._save_pending = False

    def commit(self) -> None:
        """Persist the state now, after a change made by an API call (when a state file is configured)."""
        if self.state_file:
            self.state_file.save(self.state)

    def commit_soon(self) -> None:
        """Persist the state within a second: for background changes (delivery reports), batching the writes."""
        if self.state_file and not self._save_pending:
            self._save_pending = True
            asyncio.get_running_loop().call_later(SAVE_DELAY_SECONDS, self._flush)

    def _flush(self) -> None:
        self._save_pending = False
        self.commit()

    def reset(self) -> None:
        """Back to the seed and the startup settings: state, counters, faults, rate limits, pending callbacks."""
        self.settings = dataclasses.replace(self.initial_settings)
        self.callbacks.reset()
        self.state = State.from_seed(self.seed)
        self.stats = Stats()
        self.faults.configure(self.initial_faults)
        self.limiter.configure(self.settings.rate_limit)
        self.limiter.clear()
        self.dlr_random = random.Random(self.settings.dlr_seed)
        self.commit()
