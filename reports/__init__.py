"""Reports: the data of a report (:mod:`reports.model`), its builder from the services' results
(:mod:`reports.build`) and its renderers (:mod:`reports.render`):
``render(doc, "json" | "csv" | "html" | "pdf", lang)``."""
