"""The service layer: reads the store, calls the pure functions of ``analytics``, and shapes the
results for the API, the reports and the CLI. ``analytics`` itself never does I/O."""

from services.energy import Balance, Figure, Scope, energy_balance, parse_scope
from services.indicators import Indicator, IndicatorReport, park_indicators
from services.ledger import LOOKBACK_S, FieldLedger, device_ledger

__all__ = [
    "LOOKBACK_S",
    "Balance",
    "FieldLedger",
    "Figure",
    "Indicator",
    "IndicatorReport",
    "Scope",
    "device_ledger",
    "energy_balance",
    "park_indicators",
    "parse_scope",
]
