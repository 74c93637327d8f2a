"""The sandbox's clocks are the project's clocks (``cm_toolkit.clock``), re-exported here."""

from __future__ import annotations

from cm_toolkit.clock import Clock, ManualClock, ScaledClock, SystemClock

__all__ = ["Clock", "ManualClock", "ScaledClock", "SystemClock"]
