"""The footprint data sheet of one product: what a carbon-label application attaches (JSON, HTML
or PDF; zh and en). It states the boundary, the period, the allocation and its source, every
factor with source, year, unit and evidence grade, the data quality and the accounting profile;
it computes nothing — every number comes from :func:`services.footprint.tenant_footprint`."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal

import jinja2
from pydantic import BaseModel, ConfigDict

from config.errors import InvalidRequestError, NotFoundError
from reports import fmt as numfmt
from reports import i18n
from reports.i18n import Lang
from reports.render import CJK, TEMPLATES, require_cjk_fonts
from services.footprint import BOUNDARY, TenantFootprint

__all__ = [
    "FactorLine",
    "FootprintSheet",
    "MonthLine",
    "SheetFormat",
    "footprint_json",
    "footprint_sheet",
    "render_sheet",
]

SheetFormat = Literal["json", "html", "pdf"]


def _num(v: float) -> float | None:
    return None if math.isnan(v) else v


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MonthLine(_Frozen):
    """One month of one product: units made, its share [-] of the site, its kgCO2e, kgce and
    kWh, and per unit (None where nothing was made)."""

    month: str
    units: float
    share: float | None
    kgco2e: float
    kgce: float
    electricity_kwh: float
    kgco2e_per_unit: float | None
    kgce_per_unit: float | None
    kwh_per_unit: float | None


class FactorLine(_Frozen):
    """A factor used, with ``source``, data ``year``, ``unit`` and evidence grade P/S/U."""

    key: str
    value: float
    unit: str
    year: int
    region: str
    source: str
    evidence: str


class FootprintSheet(_Frozen):
    """The data sheet of one product over a year or a month."""

    kind: Literal["product_footprint"] = "product_footprint"
    park_id: str
    tenant_id: str
    tenant_name: str
    product: str
    product_name: str
    period: str
    boundary_zh: str
    boundary_en: str
    allocation: str
    declared_per_unit: float | None
    months: tuple[MonthLine, ...]
    units: float
    kgco2e: float
    kgco2e_per_unit: float | None
    kgce_per_unit: float | None
    kwh_per_unit: float | None
    factors: tuple[FactorLine, ...]
    completeness_pct: float
    heat_included: bool
    profile: str
    electricity_method: str
    generated_at: str
    software: str


def footprint_sheet(fp: TenantFootprint, counter: str, *, software: str) -> FootprintSheet:
    """The data sheet of product ``counter`` of ``fp``; :class:`NotFoundError` for a counter the
    tenant does not have."""
    product = next((p for p in fp.products if p.counter == counter), None)
    if product is None:
        known = ", ".join(p.counter for p in fp.products)
        raise NotFoundError(f"tenant {fp.tenant!r} has no production counter {counter!r} ({known})")
    f = product.footprint
    months = tuple(
        MonthLine(
            month=m.label,
            units=float(f.units[k]),
            share=_num(float(f.share[k])),
            kgco2e=float(f.kgco2e[k]),
            kgce=float(f.kgce[k]),
            electricity_kwh=float(f.electricity_kwh[k]),
            kgco2e_per_unit=_num(float(f.kgco2e_per_unit[k])),
            kgce_per_unit=_num(float(f.kgce_per_unit[k])),
            kwh_per_unit=_num(float(f.kwh_per_unit[k])),
        )
        for k, m in enumerate(fp.months)
    )
    return FootprintSheet(
        park_id=fp.park,
        tenant_id=fp.tenant,
        tenant_name=fp.tenant_name,
        product=product.counter,
        product_name=product.name,
        period=fp.period,
        boundary_zh=BOUNDARY[0],
        boundary_en=BOUNDARY[1],
        allocation=fp.rule,
        declared_per_unit=product.declared_per_unit,
        months=months,
        units=f.total_units,
        kgco2e=f.total_kgco2e,
        kgco2e_per_unit=_num(f.total_kgco2e_per_unit),
        kgce_per_unit=_num(f.total_kgce_per_unit),
        kwh_per_unit=_num(f.total_kwh_per_unit),
        factors=tuple(
            FactorLine(
                key=x.name,
                value=x.value,
                unit=x.unit,
                year=x.year,
                region=x.region,
                source=x.source,
                evidence=x.evidence,
            )
            for x in fp.factors
        ),
        completeness_pct=fp.completeness_pct,
        heat_included=fp.heat_included,
        profile=fp.profile.name,
        electricity_method=fp.profile.electricity_method,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        software=software,
    )


def footprint_json(fp: TenantFootprint, *, software: str) -> dict[str, object]:
    """Every product's sheet and the tenant's energy per month, as one JSON object."""
    return {
        "park_id": fp.park,
        "tenant_id": fp.tenant,
        "period": fp.period,
        "allocation": fp.rule,
        "profile": fp.profile.name,
        "heat_included": fp.heat_included,
        "completeness_pct": fp.completeness_pct,
        "site": [
            {
                "month": m.label,
                "electricity_kwh": m.electricity_kwh,
                "green_kwh": m.green_kwh,
                "gas_m3": m.gas_m3,
                "heat_kwh": m.heat_kwh,
                "kgco2e": fp.kgco2e[k],
                "kgce": fp.kgce[k],
                "completeness_pct": m.completeness_pct,
            }
            for k, m in enumerate(fp.months)
        ],
        "products": [
            footprint_sheet(fp, p.counter, software=software).model_dump(mode="json")
            for p in fp.products
        ],
    }


def render_sheet(sheet: FootprintSheet, fmt: SheetFormat, lang: Lang = "zh") -> bytes:
    """``sheet`` as JSON (keyed, language-free), HTML or PDF in ``lang``."""
    if fmt == "json":
        return sheet.model_dump_json(indent=2).encode("utf-8")
    if fmt not in ("html", "pdf"):
        raise InvalidRequestError(f"format {fmt!r}: use json, html or pdf")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = env.get_template("footprint.html.j2").render(
        s=sheet,
        lang=lang,
        t=lambda key: i18n.t(key, lang),
        method=lambda name: i18n.method(name, lang),
        num=numfmt.number,
        DASH=numfmt.DASH,
    )
    if fmt == "html":
        return html.encode("utf-8")
    from reports._weasy import html_to_pdf

    if lang == "zh" or CJK.search(html):
        require_cjk_fonts()
    return html_to_pdf(html)
