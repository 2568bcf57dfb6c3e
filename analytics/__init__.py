"""Pure analytics over numpy arrays: counters → intervals, local calendars, tce, carbon,
microgrid indicators and tariffs.

One module per concept, imported as ``analytics.<module>``:

* :mod:`analytics.intervals` — register readings → interval energy with quality codes and issues
* :mod:`analytics.calendar` — roll-ups by local hour/day/month/year, with completeness
* :mod:`analytics.energy` — standard coal (GB/T 2589) and energy balances
* :mod:`analytics.carbon` — Scope 1/2 (location- and market-based), intensities, shares
* :mod:`analytics.microgrid` — self-consumption, self-sufficiency, demand, battery, PV PR
* :mod:`analytics.tariff` — time-of-use cost and demand charges

Nothing here does I/O or reads configuration: factors, schedules and prices are parameters,
taken by the caller from ``config/data`` (see ``config.factors``). Only numpy and the standard
library are imported.
"""
