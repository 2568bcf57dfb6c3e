"""Benchmarks of the ingest path (``python -m bench.ingest``); not part of the installed package.

The load generator (:mod:`bench._mqtt_pub`) and the bare paho subscriber (:mod:`bench._paho_sub`)
run as separate processes, so they never share the harness's GIL.
"""
