"""A typed wrapper of WeasyPrint (which ships no type information), imported lazily so JSON and
CSV work without it. Nothing is fetched: the report HTML is self-contained, and the URL fetcher
stops the rendering on any URL but ``data:``."""

from __future__ import annotations

from typing import Any

__all__ = ["html_to_pdf"]


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html``, laid out by WeasyPrint with the print stylesheet."""
    import weasyprint  # type: ignore[import-untyped]
    from weasyprint.urls import FatalURLFetchingError  # type: ignore[import-untyped]

    class DataOnly(weasyprint.URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith("data:"):
                raise FatalURLFetchingError(f"the report may not load {url!r}")
            return super().fetch(url, headers)

    pdf = weasyprint.HTML(string=html, url_fetcher=DataOnly()).write_pdf()
    if not isinstance(pdf, bytes):
        raise TypeError("WeasyPrint returned no PDF")
    return pdf
