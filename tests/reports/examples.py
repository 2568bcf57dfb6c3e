"""Write the example pages of docs/: ``python -m tests.reports.examples`` renders the sample
documents (or ReportDoc JSON files: ``--park park.json --factory factory.json``, e.g. from
``smartpark report … --format json``) to PDF and keeps one page of each as PNG:
docs/report-park-example.png (the page with the monthly charts) and
docs/report-factory-example.png (the first page). Needs poppler-utils and a CJK font."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from reports.i18n import t
from reports.model import ReportDoc
from reports.render import render
from tests.reports.sample import factory_doc, park_doc

DOCS = Path(__file__).resolve().parents[2] / "docs"


def page_with(pdf: Path, needle: str) -> int:
    """The first page whose text holds ``needle`` (1 when none does)."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    for number, page in enumerate(text.split("\f"), 1):
        if needle in page.replace(" ", ""):
            return number
    return 1


def write_page(doc: ReportDoc, out: Path, needle: str | None, dpi: int = 100) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "report.pdf"
        pdf.write_bytes(render(doc, "pdf", "zh"))
        page = page_with(pdf, needle) if needle else 1
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(dpi),
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(pdf),
                str(out.with_suffix("")),
            ],
            check=True,
        )
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--park", type=Path, help="a park evaluation ReportDoc as JSON")
    parser.add_argument("--factory", type=Path, help="a green-factory ReportDoc as JSON")
    args = parser.parse_args()
    park = ReportDoc.model_validate_json(args.park.read_bytes()) if args.park else park_doc()
    factory = (
        ReportDoc.model_validate_json(args.factory.read_bytes()) if args.factory else factory_doc()
    )
    monthly = t("section.monthly", "zh")
    page = write_page(park, DOCS / "report-park-example.png", monthly)
    print(f"docs/report-park-example.png: page {page}")
    write_page(factory, DOCS / "report-factory-example.png", None)
    print("docs/report-factory-example.png: page 1")


if __name__ == "__main__":
    main()
