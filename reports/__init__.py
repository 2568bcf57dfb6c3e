"""Reports: the data of a report (:mod:`reports.model`, filled by ``services/reports.py``) and
its renderers (:mod:`reports.render`): ``render(doc, "json" | "csv" | "html" | "pdf", lang)``."""
