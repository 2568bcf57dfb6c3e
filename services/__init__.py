"""The service layer: reads the store, calls the pure functions of ``analytics``, and shapes the
results for the API, the reports and the CLI. ``analytics`` itself never does I/O."""

from services.ledger import LOOKBACK_S, FieldLedger, device_ledger

__all__ = ["LOOKBACK_S", "FieldLedger", "device_ledger"]
