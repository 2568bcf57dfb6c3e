"""Official tables as real ``.xlsx`` (openpyxl), laid out like the forms an energy manager files:

- **205-1** 《能源购进、消费与库存》 (NBS energy statistics reporting system, basic-level periodic
  form 205-1) of a tenant or of the park, for a year, with *both* standard-coal conversion
  coefficients of GB/T 2589-2020: calorific value (当量值) and coal equivalent (等价值);
- a **green-factory self-evaluation workbook** (GB/T 36132-2018 《绿色工厂评价通则》) of the
  indicators smartpark measures for a tenant, for the evaluator to score.

Both are composed from a :class:`reports.model.ReportDoc` (the same figures as the JSON report)
and the standard-coal table; nothing new is measured here. Numbers carry the 15 significant
digits Excel keeps (:func:`excel_number`). Every number written to a sheet is
also in :func:`table_205_1` / :func:`green_factory_rows` (the JSON form), and a test reopens the
workbook and compares them cell by cell. What of the official layout could not be verified is
listed in docs/tables.md ("Official tables").
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from config.errors import InvalidRequestError
from config.factors import FactorNotFoundError, coal_equivalents
from reports import i18n
from reports.model import ReportDoc

__all__ = [
    "COLUMNS_205_1",
    "MEDIA_TYPE",
    "Table",
    "TableKind",
    "excel_number",
    "green_factory_rows",
    "green_factory_xlsx",
    "table_205_1",
    "table_205_1_xlsx",
    "table_xlsx",
]

TableKind = Literal["205-1", "green-factory"]

COLUMNS_205_1: tuple[tuple[str, str, str], ...] = (
    # (column letter as printed on the form, key in the JSON rows, heading)
    ("甲", "name", "能源名称 Energy"),
    ("乙", "unit", "计量单位 Unit"),
    ("丙", "code", "代码 Code"),
    ("1", "opening_stock", "年初库存量 Opening stock"),
    ("2", "purchase_quantity", "购进量 实物量 Purchased, quantity"),
    ("3", "purchase_value_kcny", "购进量 金额(千元) Purchased, kCNY"),
    ("4", "consumption", "消费量 合计 Consumption, total"),
    ("5", "industrial", "工业生产消费 Industrial production"),
    ("6", "raw_material", "#用作原材料 of which feedstock"),
    ("7", "non_industrial", "非工业生产消费 Non-industrial"),
    ("8", "transport", "#运输工具消费 of which vehicles"),
    ("9", "closing_stock", "年末库存量 Closing stock"),
    ("10", "coef_calorific_value", "折标准煤系数(当量值) Coefficient, calorific value"),
    ("11", "coef_coal_equivalent", "折标准煤系数(等价值) Coefficient, coal equivalent"),
)
"""The 205-1 columns: the lettered and numbered columns of the NBS form; the two coefficient
columns hold GB/T 2589-2020's two methods side by side (the form's own coefficient columns are
"采用折标系数" and "参考折标系数": docs/tables.md)."""

# carrier of the report → (form name, form unit, factor from the report's unit to the form's,
# coal-table key, factor from the table's unit to tce per form unit)
_ROWS = {
    "natural_gas": ("天然气", "万立方米", 1e-4, "natural_gas", 10.0),  # kgce/m³ → tce/万m³
    "heat": ("热力", "百万千焦", 0.0036, "heat", 1.0),  # kWh → GJ; kgce/MJ → tce/GJ
    "electricity": ("电力", "万千瓦时", 1e-4, None, 10.0),  # kgce/kWh → tce/万kWh
}
_ELECTRICITY_KEYS = ("electricity_equivalent", "electricity_coal_consumption")
_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""Media type of an .xlsx workbook."""


def excel_number(value: float) -> float:
    """``value`` [any unit] to the 15 significant digits Excel keeps (and openpyxl writes 16 of),
    so a number reads back from the workbook exactly as the JSON gives it."""
    return float(f"{value:.15g}")


def _cells(row: dict[str, str | float | None]) -> dict[str, str | float | None]:
    return {k: excel_number(v) if isinstance(v, float) else v for k, v in row.items()}


@dataclass(frozen=True, slots=True)
class Table:
    """A filled form: title, the header lines above the table, the columns (letter, key,
    heading), the rows (key → value, None for a blank cell) and notes below."""

    title: str
    header: tuple[str, ...]
    columns: tuple[tuple[str, str, str], ...]
    rows: tuple[dict[str, str | float | None], ...]
    notes: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        """The table as JSON (every number the workbook holds, by row and column key)."""
        return {
            "title": self.title,
            "header": list(self.header),
            "columns": [{"letter": c[0], "key": c[1], "heading": c[2]} for c in self.columns],
            "rows": [dict(r) for r in self.rows],
            "notes": list(self.notes),
        }


def _coef(key: str, on: date) -> float:
    try:
        return coal_equivalents().lookup(key, "CN", on).value
    except FactorNotFoundError as exc:
        raise InvalidRequestError(f"205-1: {exc}") from None


def table_205_1(doc: ReportDoc) -> Table:
    """The 205-1 form of ``doc``'s scope (a tenant's green-factory report or the park's
    evaluation) for its year: per carrier the quantity purchased and consumed in the form's
    units, and the tce totals under both GB/T 2589-2020 methods."""
    on = date(doc.year, 1, 1)
    rows: list[dict[str, str | float | None]] = []
    total = {"coef_calorific_value": 0.0, "coef_coal_equivalent": 0.0}
    method = doc.profile.electricity_method
    for carrier in doc.carriers:
        spec = _ROWS.get(carrier.carrier)
        if spec is None or carrier.quantity is None:
            continue
        name, unit, scale, key, to_tce = spec
        qty = carrier.quantity * scale
        # the report's own coefficient (tce per form unit) where it computed one, so the totals
        # are the report's; the table's for the other electricity method
        own = carrier.tce / qty if carrier.tce is not None and qty > 0 else None
        if key is None:
            cv, ce = (_coef(k, on) * to_tce for k in _ELECTRICITY_KEYS)
            if own is not None:
                cv, ce = (own, ce) if method == "calorific_value" else (cv, own)
        else:
            cv = ce = own if own is not None else _coef(key, on) * to_tce
        total["coef_calorific_value"] += qty * cv
        total["coef_coal_equivalent"] += qty * ce
        rows.append(
            {
                "name": name,
                "unit": unit,
                "code": None,
                "opening_stock": None,
                "purchase_quantity": qty,
                "purchase_value_kcny": None,
                "consumption": qty,
                "industrial": qty,
                "raw_material": 0.0,
                "non_industrial": None,
                "transport": None,
                "closing_stock": None,
                "coef_calorific_value": cv,
                "coef_coal_equivalent": ce,
            }
        )
    for column, label in (("coef_calorific_value", "当量值"), ("coef_coal_equivalent", "等价值")):
        blank: dict[str, str | float | None] = dict.fromkeys(c[1] for c in COLUMNS_205_1)
        blank.update(
            name=f"能源消费合计({label}) Total energy",
            unit="吨标准煤 tce",
            consumption=total[column],
            industrial=total[column],
        )
        rows.append(blank)
    who = doc.tenant_name or doc.park_name
    return Table(
        title=f"{i18n.t('tables.205_1.title', 'zh')} {i18n.t('tables.205_1.title', 'en')}",
        header=(
            "表号:205-1表    制定机关:国家统计局    Form 205-1, National Bureau of Statistics",
            f"单位详细名称 Unit:{who}    统一社会信用代码 Credit code:",
            f"{doc.year} 年 Year    核算口径 Profile:{doc.profile.name} "
            f"({doc.profile.electricity_method})",
        ),
        columns=COLUMNS_205_1,
        rows=tuple(_cells(r) for r in rows),
        notes=(
            "说明:电力、天然气、热力无库存;购进量即计量消费量(园区表为电网购入)。"
            " Electricity, gas and heat are not stocked: purchased = metered consumption (the "
            "park's table: grid import).",
            "折标准煤系数:GB/T 2589-2020,电力当量值 0.1229 kgce/kWh,等价值为当年平均供电煤耗。"
            " Coefficients: GB/T 2589-2020; electricity 0.1229 kgce/kWh (calorific value), the "
            "year's average coal use per kWh supplied (coal equivalent).",
            "代码列及表头文号未核实,请按当年《能源统计报表制度》填写。"
            " The code column and the form's approval number are not verified: fill them in from "
            "the year's NBS energy statistics reporting system.",
            f"smartpark · {doc.software} · {doc.generated_at}",
        ),
    )


def green_factory_rows(doc: ReportDoc) -> Table:
    """The green-factory self-evaluation of ``doc`` (a tenant's green-factory report): each
    indicator smartpark measures, its value, unit, completeness and basis, and a blank score
    column for the evaluator."""
    if doc.kind != "green_factory":
        raise InvalidRequestError("the green-factory workbook is a tenant's: ask for a tenant")
    columns = (
        ("甲", "no", "序号 No."),
        ("乙", "indicator", "指标 Indicator"),
        ("丙", "key", "指标代码 Key"),
        ("1", "value", "指标值 Value"),
        ("2", "unit", "单位 Unit"),
        ("3", "completeness_pct", "数据完整率 % Completeness %"),
        ("4", "basis", "数据依据 Basis"),
        ("5", "score", "自评得分 Self-assessed score"),
    )
    rows = tuple(
        _cells(
            {
                "no": float(k + 1),
                "indicator": f"{i18n.t(r.key, 'zh')} {i18n.t(r.key, 'en')}",
                "key": r.key,
                "value": r.value,
                "unit": r.unit,
                "completeness_pct": r.completeness_pct,
                "basis": r.basis,
                "score": None,
            }
        )
        for k, r in enumerate(doc.indicators)
    )
    return Table(
        title=f"{i18n.t('tables.green_factory.title', 'zh')} "
        f"{i18n.t('tables.green_factory.title', 'en')}",
        header=(
            "依据:GB/T 36132-2018《绿色工厂评价通则》 Basis: GB/T 36132-2018 General principles "
            "for the evaluation of green factories",
            f"企业名称 Tenant:{doc.tenant_name}    园区 Park:{doc.park_name}",
            f"{doc.year} 年 Year    核算口径 Profile:{doc.profile.name} "
            f"({doc.profile.electricity_method})",
        ),
        columns=columns,
        rows=rows,
        notes=(
            "本表仅列 smartpark 计量的指标;管理体系、基础设施等定性要求由企业另行自评。"
            " Only the indicators smartpark measures; the qualitative requirements (management "
            "system, infrastructure …) are self-evaluated separately.",
            f"smartpark · {doc.software} · {doc.generated_at}",
        ),
    )


def _write(ws: Worksheet, table: Table) -> None:
    width = len(table.columns)
    last = get_column_letter(width)
    ws.append([table.title])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    for line in table.header:
        ws.append([line])
        ws.merge_cells(f"A{ws.max_row}:{last}{ws.max_row}")
    ws.append([c[2] for c in table.columns])
    head = ws.max_row
    ws.append([c[0] for c in table.columns])  # 甲 乙 丙 1 2 …: the form's column letters
    for row in ws.iter_rows(min_row=head, max_row=head + 1):
        for cell in row:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = _BOX
    for r in table.rows:
        ws.append([r.get(c[1]) for c in table.columns])
        for cell in ws[ws.max_row]:
            cell.border = _BOX
    for note in table.notes:
        ws.append([note])
    for k in range(1, width + 1):
        ws.column_dimensions[get_column_letter(k)].width = 24 if k <= 2 else 14
    ws.freeze_panes = f"A{head + 2}"


def _book(table: Table, sheet: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    _write(ws, table)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def table_205_1_xlsx(doc: ReportDoc) -> bytes:
    """The 205-1 form of ``doc`` as an .xlsx workbook."""
    return _book(table_205_1(doc), "205-1")


def green_factory_xlsx(doc: ReportDoc) -> bytes:
    """The green-factory self-evaluation workbook of ``doc`` as .xlsx."""
    return _book(green_factory_rows(doc), "绿色工厂自评价")


def table_xlsx(doc: ReportDoc, kind: TableKind) -> bytes:
    """The table ``kind`` of ``doc`` as .xlsx."""
    if kind == "205-1":
        return table_205_1_xlsx(doc)
    if kind == "green-factory":
        return green_factory_xlsx(doc)
    raise InvalidRequestError(f"table {kind!r}: use 205-1 or green-factory")
