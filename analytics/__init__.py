"""Pure analytics over numpy arrays: counters → intervals, local calendars, tce, carbon,
microgrid indicators and tariffs.

One module per concept, imported as ``analytics.<module>``:

* :mod:`analytics.intervals` — register readings → interval energy with quality codes and issues
* :mod:`analytics.calendar` — roll-ups by local hour/day/month/year, with completeness
* :mod:`analytics.energy` — standard coal (GB/T 2589, 当量值 and 等价值) and energy balances
* :mod:`analytics.gas` — natural-gas tce and CO2 from one heating value and reference condition
* :mod:`analytics.carbon` — Scope 1/2 (location- and market-based), intensities, shares
* :mod:`analytics.instruments` — green certificates and contracts matched to consumption once
* :mod:`analytics.zero_carbon` — the 910 core indicator's band and both conversion methods
* :mod:`analytics.microgrid` — self-consumption, self-sufficiency, demand, battery, PV yield, PR
* :mod:`analytics.tariff` — time-of-use cost, demand charges, sliding-window billed demand

The accounting methods and their sources are written down in ``docs/accounting.md``.

Nothing here does I/O or reads configuration: factors, schedules and prices are parameters,
taken by the caller from ``config/data`` (see ``config.factors``). Only numpy and the standard
library are imported.
"""
