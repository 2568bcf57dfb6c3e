"""Every label of the reports, in Chinese (default) and English, keyed by stable keys.

Keys are indicator keys (``tco2_per_tce``), target keys (``target.carbon_per_energy``), section
and column names (``section.targets``), statuses (``status.met``), bases, note kinds and texts
(``notetext.<code>``), carriers, accounting settings and their values, instrument kinds and units
(``unit.fraction``). ``t(key, lang)`` falls back to the key itself, so an indicator the table does
not know yet still shows, by its key. Data strings of the report (park and tenant names, target
titles, standards, sources, the profile's name and rationale) are shown as they are.
"""

# Chinese labels use full-width punctuation (brackets, commas): not confusables here.
# ruff: noqa: RUF001

from __future__ import annotations

from typing import Literal

from config.accounting import METHOD_LABELS

__all__ = ["LABELS", "MONTHS_EN", "Lang", "method", "t", "unit"]

Lang = Literal["zh", "en"]

LABELS: dict[str, tuple[str, str]] = {  # key: (zh, en)
    # report kinds and header
    "kind.park_evaluation": ("园区能源与碳排放评价报告", "Park energy and carbon evaluation"),
    "kind.green_factory": ("绿色工厂能源与碳排放报告", "Green-factory energy and carbon report"),
    "header.park": ("园区", "Park"),
    "header.tenant": ("企业", "Tenant"),
    "header.sector": ("行业", "Sector"),
    "header.year": ("报告年度", "Year"),
    "header.tz": ("时区", "Time zone"),
    "header.generated_at": ("生成时间", "Generated at"),
    "header.software": ("软件", "Software"),
    "header.contents": ("目录", "Contents"),
    "page.prefix": ("第 ", "Page "),
    "page.middle": (" 页 / 共 ", " of "),
    "page.suffix": (" 页", ""),
    # sections
    "section.summary": ("概览", "Summary"),
    "section.targets": ("目标评价", "Targets"),
    "section.monthly": ("月度趋势", "Monthly trends"),
    "section.indicators": ("年度指标", "Indicators of the year"),
    "section.carriers": ("分能源品种", "Energy carriers"),
    "section.tenants": ("分企业", "Tenants"),
    "section.microgrid": ("微电网运行", "Microgrid"),
    "section.factors": ("排放因子与折标系数", "Factors and coefficients"),
    "section.accounting": ("核算边界与方法", "Boundary and method"),
    "section.instruments": ("绿色电力凭证", "Green instruments"),
    "section.notes": ("说明", "Notes"),
    # KPI tiles
    "kpi.tco2_per_tce": ("单位能耗碳排放", "CO2 per tce"),
    "kpi.threshold": ("零碳园区阈值", "Zero-carbon threshold"),
    "kpi.no_threshold": ("无适用阈值", "no applicable threshold"),
    "kpi.energy": ("综合能源消费量", "Comprehensive energy"),
    "kpi.tco2": ("碳排放总量", "Total CO2"),
    "kpi.clean": ("清洁能源消费占比", "Clean-energy share"),
    "kpi.completeness": ("数据完整率", "Data completeness"),
    "kpi.scope1": ("范围一", "Scope 1"),
    "kpi.scope2": ("范围二（基于位置）", "Scope 2 (location)"),
    # columns
    "col.indicator": ("指标", "Indicator"),
    "col.value": ("数值", "Value"),
    "col.unit": ("单位", "Unit"),
    "col.threshold": ("阈值", "Threshold"),
    "col.gap": ("差距", "Gap"),
    "col.completeness": ("完整率", "Completeness"),
    "col.status": ("状态", "Status"),
    "col.basis": ("数据来源", "Basis"),
    "col.score": ("得分", "Score"),
    "col.projection": ("年末预测 ± σ", "Year-end projection ± σ"),
    "col.ytd": ("年初至今", "Year to date"),
    "col.month": ("月份", "Month"),
    "col.carrier": ("能源品种", "Carrier"),
    "col.quantity": ("实物量", "Quantity"),
    "col.tce": ("折标煤 (tce)", "Standard coal (tce)"),
    "col.tco2": ("碳排放 (tCO2)", "Emissions (tCO2)"),
    "col.tenant": ("企业", "Tenant"),
    "col.sector": ("行业", "Sector"),
    "col.electricity_kwh": ("用电量 (kWh)", "Electricity (kWh)"),
    "col.tco2_per_tce": ("tCO2/tce", "tCO2/tce"),
    "col.cost_cny": ("电费 (元)", "Electricity cost (CNY)"),
    "col.factor": ("因子", "Factor"),
    "col.source": ("来源", "Source"),
    "col.year": ("年份", "Year"),
    "col.region": ("地区", "Region"),
    "col.evidence": ("证据等级", "Evidence"),
    "col.setting": ("设置", "Setting"),
    "col.reason": ("原因", "Reason"),
    "col.sources": ("阈值来源", "Threshold sources"),
    "col.method": ("电力折标方法", "Electricity method"),
    "col.instrument": ("凭证编号", "Instrument"),
    "col.kind": ("类型", "Kind"),
    "col.kwh": ("电量 (kWh)", "Energy (kWh)"),
    "col.scope": ("范围", "Scope"),
    # statuses and flags
    "status.met": ("达标", "met"),
    "status.not_met": ("未达标", "not met"),
    "status.not_enough_data": ("数据不足", "not enough data"),
    "status.no_threshold": ("无阈值", "no threshold"),
    "veto": ("否决项", "veto"),
    "vetoes.true": ("否决项均达标", "all veto indicators met"),
    "vetoes.false": ("否决项未达标", "a veto indicator is not met"),
    "vetoes.none": ("否决项待定", "veto indicators undecided"),
    "vetoes.lacking": ("否决项数据不足：", "veto indicators lacking data: "),
    "indicative": ("不足一年数据，结果仅供参考", "less than a year of data: indicative only"),
    "example": ("示例值", "example value"),
    "projected": ("预测", "projected"),
    "document": ("依据", "Document"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "evidence.P": ("P 一手", "P primary"),
    "evidence.S": ("S 二手", "S second-hand"),
    "evidence.U": ("U 未核实", "U unverified"),
    "evidence.V": ("V 已核实", "V verified"),
    "basis.measured": ("实测", "measured"),
    "basis.estimated": ("估算", "estimated"),
    "basis.declared": ("申报", "declared"),
    "basis.mixed": ("实测+申报", "measured + declared"),
    "note.estimated": ("估算", "estimated"),
    "note.declared": ("申报", "declared"),
    "note.example": ("示例", "example"),
    "note.missing": ("缺失", "missing"),
    "note.info": ("说明", "info"),
    # note texts (reports.model.NoteCode); the note's items follow, by their labels
    "notetext.estimated": (
        "以下指标部分基于插补或估算区间（完整率低于 100%）",
        "these rest partly on interpolated or estimated intervals (completeness below 100 %)",
    ),
    "notetext.declared": ("申报值，非实测", "declared, not measured"),
    "notetext.unverified_factors": (
        "以下因子尚未与一手来源核对",
        "these factors are not verified against their primary source",
    ),
    "notetext.not_computed": (
        "未能计算（原因见各表）",
        "not computed (see the reasons in the tables)",
    ),
    "notetext.profile_not_in_force": (
        "以下目标体系在本年度无生效版本，未予评价",
        "these target profiles have no version in force for the year and are not evaluated",
    ),
    "notetext.example_thresholds": (
        "以下目标的阈值为示例值，并非标准规定",
        "the thresholds of these targets are example values, not a standard's",
    ),
    "notetext.year_incomplete": (
        "本年度尚未结束，年末值为预测值",
        "the year is not over: year-end values are projections",
    ),
    "chart.energy_title": (
        "月度综合能耗与单位能耗碳排放",
        "Monthly energy and CO2 per tce",
    ),
    "chart.energy": ("综合能耗 (tce)", "Energy (tce)"),
    "chart.intensity": ("单位能耗碳排放 (tCO2/tce)", "CO2 per tce (tCO2/tce)"),
    "chart.threshold": ("阈值", "threshold"),
    "chart.completeness_title": ("月度数据完整率", "Monthly data completeness"),
    "chart.completeness": ("完整率 (%)", "Completeness (%)"),
    "chart.min_completeness": ("判定所需 90%", "90% needed to judge"),
    "chart.below_min": ("低于 90%", "below 90%"),
    "chart.carriers_title": ("分能源品种碳排放", "Emissions by carrier"),
    "chart.no_data": ("无数据", "no data"),
    # short column heads of the monthly table (fallback: the indicator's label)
    "short.comprehensive_energy_tce": ("综合能耗", "Energy"),
    "short.scope1_tco2": ("范围一", "Scope 1"),
    "short.scope2_location_tco2": ("范围二·位置", "Scope 2 location"),
    "short.scope2_market_tco2": ("范围二（市场）", "Scope 2 market"),
    "short.tco2_per_tce": ("碳排放/能耗", "CO2 per tce"),
    "short.clean_energy_share": ("清洁能源", "Clean share"),
    "short.renewable_share": ("可再生能源", "Renewable share"),
    "short.electricity_cost_cny": ("电费", "Electricity cost"),
    # indicators (services.indicators)
    "comprehensive_energy_tce": ("综合能源消费量", "Comprehensive energy consumption"),
    "scope1_tco2": ("范围一排放", "Scope 1 emissions"),
    "scope2_location_tco2": ("范围二排放（基于位置）", "Scope 2 emissions (location-based)"),
    "scope2_market_tco2": ("范围二排放（基于市场）", "Scope 2 emissions (market-based)"),
    "total_tco2": ("碳排放总量", "Total emissions"),
    "tco2_per_tce": ("单位能耗碳排放", "CO2 per tce"),
    "tco2_per_tce_market": ("单位能耗碳排放（基于市场）", "CO2 per tce (market-based)"),
    "tco2_per_tce_calorific_value": ("单位能耗碳排放（当量值）", "CO2 per tce (calorific value)"),
    "tco2_per_tce_coal_equivalent": ("单位能耗碳排放（等价值）", "CO2 per tce (equivalent value)"),
    "tco2_per_tce_location": (
        "单位能耗碳排放（基于位置，不计绿电凭证）",
        "CO2 per tce (location-based, no instruments)",
    ),
    "billed_demand_kw": ("计费需量", "Billed demand"),
    "pv_performance_ratio": ("光伏系统性能比", "PV performance ratio"),
    "clean_energy_share": ("清洁能源消费占比", "Clean-energy share"),
    "renewable_share": ("可再生能源使用比例", "Renewable share"),
    "renewable_electricity_share": ("绿电使用比例", "Renewable electricity share"),
    "kgco2_per_m2": ("单位面积碳排放", "CO2 per floor area"),
    "tco2_per_unit": ("单位产品碳排放", "CO2 per unit of product"),
    "kgce_per_unit": ("单位产品综合能耗", "Energy per unit of product"),
    "pv_self_consumption_rate": ("光伏自消纳率", "PV self-consumption"),
    "self_sufficiency_rate": ("自给率", "Self-sufficiency"),
    "renewable_penetration": ("可再生能源渗透率", "Renewable penetration"),
    "peak_demand_kw": ("最大需量", "Peak demand"),
    "load_factor": ("负荷率", "Load factor"),
    "battery_equivalent_full_cycles": ("储能等效循环次数", "Battery full cycles"),
    "battery_round_trip_efficiency": ("储能往返效率", "Battery round-trip efficiency"),
    "pv_specific_yield_kwh_per_kw": ("光伏等效利用小时", "PV specific yield"),
    "tou_energy_cost_cny": ("分时电量电费", "Time-of-use energy cost"),
    "demand_charge_cny": ("需量电费", "Demand charge"),
    "electricity_cost_cny": ("电费", "Electricity cost"),
    # target profiles and their indicators (config/data/targets.yaml)
    "profile.zero_carbon_park": ("国家级零碳园区", "National zero-carbon park"),
    "profile.miit_green_park": ("绿色园区", "MIIT green industrial park"),
    "profile.green_factory": ("绿色工厂", "Green factory"),
    "profile.microgrid": ("园区微电网", "Park microgrid"),
    "target.carbon_per_energy": ("单位能耗碳排放", "CO2 per tce consumed"),
    "target.clean_energy_share": ("清洁能源消费占比", "Clean-energy share"),
    "target.waste_heat_use": ("余热/余冷/余压综合利用率", "Waste heat, cold and pressure use"),
    "target.water_reuse": ("工业用水重复利用率", "Industrial water reuse"),
    "target.solid_waste_use": ("工业固体废物综合利用率", "Industrial solid-waste use"),
    "target.product_energy_quota_level": ("产品单位能耗定额等级", "Product energy quota level"),
    "target.energy_productivity": ("能源产出率", "Energy productivity"),
    "target.renewable_share": ("可再生能源使用比例", "Renewable share"),
    "target.carbon_per_value_added": ("单位工业增加值碳排放量", "CO2 per value added"),
    "target.carbon_per_value_added_reduction": (
        "单位工业增加值碳排放量削减率",
        "Reduction of CO2 per value added",
    ),
    "target.unit_product_energy": ("单位产品综合能耗", "Energy per unit of product"),
    "target.unit_product_carbon": ("单位产品碳排放量", "CO2 per unit of product"),
    "target.renewable_electricity_share": ("可再生能源（绿电）使用比例", "Renewable electricity"),
    "target.self_sufficiency": ("自给率", "Self-sufficiency"),
    "target.renewable_penetration": ("可再生能源渗透率", "Renewable penetration"),
    # carriers
    "carrier.electricity": ("电力", "Electricity"),
    "carrier.natural_gas": ("天然气", "Natural gas"),
    "carrier.heat": ("外购热力", "Purchased heat"),
    "carrier.diesel": ("柴油", "Diesel"),
    "carrier.water": ("水", "Water"),
    # the boundary and method statement (reports.model.ProfileStatement)
    "accounting.name": ("核算口径", "Accounting profile"),
    "accounting.electricity_method": ("电力折标方法", "Electricity conversion method"),
    "accounting.rationale": ("选择理由", "Rationale"),
    "accounting.grid_factor": ("电网排放因子", "Grid emission factor"),
    "accounting.scope2_basis": ("范围二电量口径", "Scope 2 electricity basis"),
    "accounting.gas_is_clean": ("天然气计为清洁能源", "Natural gas counts as clean"),
    "accounting.purchased_heat": ("计入外购热力", "Purchased heat counted"),
    "accounting.gas": ("天然气低位发热量", "Natural gas lower heating value"),
    "accounting.gas_meter_reference": ("燃气表计量状态", "Gas meters read volumes at"),
    "accounting.boundary": ("核算边界", "Accounting boundary"),
    "accounting.ev_charging": ("电动汽车充电", "EV charging"),
    "accounting.public_areas": ("公共区域与公共服务", "Public areas and common services"),
    "accounting.losses": ("变压器与线路损耗", "Transformer and line losses"),
    "accounting.pv_certificates": ("自有光伏的绿证", "Certificates of on-site PV"),
    "accounting.flat_price_cny_per_kwh": ("平段电价 (元/kWh)", "Flat price (CNY/kWh)"),
    "accounting.province": ("省份", "Province"),
    "accounting.grid_region": ("区域电网", "Grid region"),
    "accounting.no_rationale": ("未说明", "not given"),
    "grid.province": (
        "所在省级电网平均排放因子（缺省时依次取区域电网、全国）",
        "the province's grid average factor (else the regional grid's, else the national)",
    ),
    "grid.region": (
        "所在区域电网平均排放因子（缺省时取全国）",
        "the regional grid's average factor (else the national)",
    ),
    "grid.national": ("全国电网平均排放因子", "the national grid average factor"),
    "grid.fixed": ("固定因子：", "a fixed factor: "),
    "scope2.gross": ("外购电量（不扣除上网电量）", "gross grid import (export not netted)"),
    "scope2.net": ("外购电量扣除上网电量（按期净额）", "grid import net of export, per period"),
    "gasref.0C": ("0 °C、101.325 kPa（标准立方米 Nm³）", "0 °C, 101.325 kPa (Nm³)"),
    "gasref.20C": ("20 °C、101.325 kPa", "20 °C, 101.325 kPa"),
    "gas.at": ("，基准状态", ", at "),
    "gas.source": ("来源", "source"),
    "boundary.in": ("计入", "inside"),
    "boundary.out": ("不计入", "outside"),
    "pvcert.kept": ("自留：自用光伏电量计为绿电", "kept: self-consumed PV counts as green"),
    "pvcert.sold": (
        "已出售：自用光伏电量不计为绿电（环境属性随绿证转让）",
        "sold: self-consumed PV does not count as green (the attribute went with the certificate)",
    ),
    # the 910 veto under both electricity methods (reports.model.MethodComparison)
    "methods.title": (
        "单位能耗碳排放：两种电力折标方法",
        "CO2 per tce under both electricity methods",
    ),
    "methods.why": (
        "发改环资〔2025〕910号附件未规定电力按当量值还是等价值折标（GB/T 2589-2020），"
        "两种方法的结果相差约 2.5 倍，故并列给出；判定采用园区核算口径选定的方法。",
        "The annex of NDRC notice 2025 No. 910 does not say whether electricity is converted "
        "to standard coal at its calorific value or its equivalent value (GB/T 2589-2020); the "
        "results differ about 2.5-fold, so both are shown. The verdict is the method of the "
        "park's accounting profile.",
    ),
    "methods.chosen": ("园区采用", "the park's choice"),
    "methods.other": ("对照", "for comparison"),
    "methods.no_veto": (
        "本报告无此否决项：仅列数值。",
        "This report has no such veto: values only.",
    ),
    # green instruments (reports.model.InstrumentRow; kinds as services/instruments.py)
    "instrument.gec": ("绿证 (GEC)", "Green electricity certificate (GEC)"),
    "instrument.contract": ("绿电交易", "Green-power trading contract"),
    "instrument.direct": ("绿电直连", "Green-power direct supply"),
    "instruments.rule": (
        "每份凭证只用于一个月份、一个范围（园区或一家企业），且不超过其所匹配的用电量"
        "（GHG Protocol 范围二指南质量准则；发改环资〔2025〕910号）。",
        "Each instrument is used once, for one month and one scope (the park or one tenant), "
        "never above the consumption it is matched to (GHG Protocol Scope 2 Guidance, Quality "
        "Criteria; NDRC notice 2025 No. 910).",
    ),
    "instruments.none": (
        "本报告期未使用绿证、绿电交易或绿电直连电量：基于市场的范围二排放与绿电比例不计任何凭证。",
        "No green certificate, green-power contract or direct supply was used in this period: "
        "market-based Scope 2 and the green shares count no instrument.",
    ),
    "scope.park": ("园区", "park"),
    # factors
    "factor.grid_average": ("电网平均排放因子", "Grid average emission factor"),
    "factor.grid_excl_market_nonfossil": (
        "电网排放因子（不含市场化非化石）",
        "Grid factor excl. market non-fossil",
    ),
    "factor.natural_gas_combustion": ("天然气燃烧排放因子", "Natural gas combustion"),
    "factor.purchased_heat": ("外购热力排放因子", "Purchased heat"),
    "factor.electricity_equivalent": ("电力折标系数（当量值）", "Electricity (calorific value)"),
    "factor.electricity_coal_consumption": (
        "电力折标系数（等价值）",
        "Electricity (equivalent value)",
    ),
    "factor.kwh_per_gec": ("每张绿证对应电量", "kWh per green certificate"),
    "factor.flat_price_cny_per_kwh": ("平段电价", "Flat energy price"),
    "factor.demand_charge_cny_per_kw_month": ("需量电价", "Demand charge rate"),
    "factor.row": ("因子表第 {n} 行", "factor table row {n}"),
    "factor.natural_gas": ("天然气折标系数", "Natural gas coal equivalent"),
    "factor.heat": ("热力折标系数", "Heat coal equivalent"),
    "factor.diesel": ("柴油折标系数", "Diesel coal equivalent"),
    "factor.diesel_combustion": ("柴油燃烧排放因子", "Diesel combustion"),
    "factor.natural_gas_lhv": ("天然气低位发热量", "Natural gas lower heating value"),
    "factor.natural_gas_carbon_content": ("天然气单位热值含碳量", "Natural gas carbon content"),
    "factor.natural_gas_oxidation": ("天然气碳氧化率", "Natural gas carbon oxidation"),
    "factor.natural_gas_kgce": (
        "天然气折标系数（由低位发热量）",
        "Natural gas coal equivalent (from the heating value)",
    ),
    # the time-of-use schedules of config/data/tariffs_*.yaml, by name
    "factor.hubei_ci_tou_2024_draft": (
        "湖北工商业分时电价（2024 年征求意见稿）",
        "Hubei C&I time-of-use tariff (2024 draft)",
    ),
    "factor.demand_floor_fraction": (
        "计费需量下限（占合同容量）",
        "Billed demand floor (share of contracted capacity)",
    ),
    # units (only those that read differently)
    "unit.fraction": ("%", "%"),
    "unit.share": ("%", "%"),
    "unit.fraction/yr": ("%/年", "%/yr"),
    "unit.%": ("%", "%"),
    "unit.m3": ("m³", "m³"),
    "unit.CNY": ("元", "CNY"),
    "unit.10k CNY/tce": ("万元/tce", "10k CNY/tce"),
    "unit.tCO2/10k CNY": ("tCO2/万元", "tCO2/10k CNY"),
    "unit.quota level": ("定额等级", "quota level"),
    "unit.cycles": ("次", "cycles"),
    "unit.kgce/unit": ("kgce/单位产品", "kgce/unit"),
    "unit.tCO2/unit": ("tCO2/单位产品", "tCO2/unit"),
    "unit.score": ("分", "points"),
    # --- footprint: product footprint data sheet, savings section, official tables ---------
    "fp.title": ("产品碳足迹数据表(门到门)", "Product carbon footprint data sheet (gate to gate)"),
    "fp.product": ("产品(计数器)", "Product (counter)"),
    "fp.period": ("核算期", "Period"),
    "fp.boundary": ("系统边界", "System boundary"),
    "fp.allocation": ("分配方法", "Allocation"),
    "fp.allocation.counter": (
        "按计数产量分配(ISO 14067:2018 / GB/T 24067-2024 §6.4.6 物理关系)",
        "by units counted (ISO 14067:2018 / GB/T 24067-2024 §6.4.6, physical relationship)",
    ),
    "fp.allocation.mass": (
        "按申报单位质量分配(ISO 14067:2018 / GB/T 24067-2024 §6.4.6 物理关系)",
        "by declared mass per unit (ISO 14067:2018 / GB/T 24067-2024 §6.4.6, physical)",
    ),
    "fp.allocation.value": (
        "按申报单位价值分配(ISO 14067:2018 / GB/T 24067-2024 §6.4.6 经济关系)",
        "by declared value per unit (ISO 14067:2018 / GB/T 24067-2024 §6.4.6, economic)",
    ),
    "fp.declared": ("申报值(每单位)", "Declared per unit"),
    "fp.month": ("月份", "Month"),
    "fp.units": ("产量", "Units made"),
    "fp.share": ("分配比例", "Share"),
    "fp.kgco2e": ("碳足迹 kgCO2e", "Footprint kgCO2e"),
    "fp.kgco2e_per_unit": ("单位产品碳足迹 kgCO2e/单位", "kgCO2e per unit"),
    "fp.kgce_per_unit": ("单位产品能耗 kgce/单位", "kgce per unit"),
    "fp.kwh_per_unit": ("单位产品电耗 kWh/单位", "kWh per unit"),
    "fp.total": ("合计", "Total"),
    "fp.factors": ("排放因子", "Factors"),
    "fp.factor": ("因子", "Factor"),
    "fp.value": ("数值", "Value"),
    "fp.unit": ("单位", "Unit"),
    "fp.year": ("数据年份", "Data year"),
    "fp.source": ("来源", "Source"),
    "fp.evidence": ("证据等级", "Evidence"),
    "fp.quality": ("数据质量", "Data quality"),
    "fp.quality.primary": (
        "能源与产量为现场计量的初级数据(租户电表、燃气表、热量表与产量计数器);因子为次级数据。",
        "Energy and output are primary data measured on site (the tenant's electricity, gas "
        "and heat meters and its production counters); the factors are secondary data.",
    ),
    "fp.completeness": ("数据完整率(最低月份)", "Completeness (least complete month)"),
    "fp.profile": ("核算口径", "Accounting profile"),
    "fp.heat.excluded": (
        "热量表所计为园区内自产热量(已计入燃气和电力),不重复计算。",
        "The heat meters measure heat made inside the park (already counted in its gas and "
        "electricity): not counted again.",
    ),
    "fp.green": ("认证绿电 kWh", "Certified green kWh"),
    "fp.electricity": ("电力 kWh", "Electricity kWh"),
    "fp.gas": ("天然气 m³", "Natural gas m³"),
    "fp.heat": ("外购热力 kWh", "Purchased heat kWh"),
    "fp.site": ("租户能源", "The tenant's energy"),
    "factor.electricity_footprint": (
        "全国电力平均碳足迹因子",
        "National electricity carbon footprint",
    ),
    "factor.green_electricity_footprint": (
        "绿电(光伏)碳足迹因子",
        "Green electricity (PV) footprint",
    ),
    "factor.natural_gas_footprint": ("天然气燃烧", "Natural gas combustion"),
    "factor.purchased_heat_footprint": ("外购热力", "Purchased heat"),
    "savings.title": ("节能量(基准线与实测)", "Energy savings (baseline and actual)"),
    "savings.baseline": ("基准线", "Baseline"),
    "savings.scope": ("范围", "Scope"),
    "savings.model": ("模型", "Model"),
    "savings.baseline_period": ("基准期", "Baseline period"),
    "savings.reporting_period": ("报告期", "Reporting period"),
    "savings.cv_rmse": ("CV(RMSE) %", "CV(RMSE) %"),
    "savings.nmbe": ("NMBE %", "NMBE %"),
    "savings.r2": ("R²", "R²"),
    "savings.limits": ("验收限值", "Acceptance limits"),
    "savings.adjusted": ("调整后基准能耗", "Adjusted baseline"),
    "savings.actual": ("报告期实测能耗", "Reporting-period actual"),
    "savings.savings": ("节能量", "Savings"),
    "savings.uncertainty": ("不确定度(±)", "Uncertainty (±)"),
    "savings.claimed": ("可声称", "Claimed"),
    "savings.refused": ("不可声称", "Not claimed"),
    "savings.none": ("本年度无基准线", "No baseline for this year"),
    "savings.method": (
        "ASHRAE Guideline 14-2014、IPMVP 选项C(整体设施);节能量 = 调整后基准能耗 − 报告期实测能耗",
        "ASHRAE Guideline 14-2014, IPMVP Option C (whole facility); savings = adjusted baseline "
        "− reporting-period actual",
    ),
    "section.savings": ("节能量", "Energy savings"),
    "savings.reason.too_few_points": ("基准期有效数据点过少", "too few baseline periods"),
    "savings.reason.cv_rmse": ("CV(RMSE) 超过限值", "CV(RMSE) above the limit"),
    "savings.reason.nmbe": ("NMBE 超出限值", "NMBE outside the limit"),
    "savings.reason.r2": ("R² 低于限值", "R² below the limit"),
    "savings.reason.fsu": ("相对不确定度过大", "too uncertain for its size"),
    "savings.reason.not_finite": ("统计量无法计算", "a statistic could not be computed"),
    "savings.reason.no_reporting_data": ("报告期尚无数据", "no reporting data yet"),
    "tables.205_1.title": ("能源购进、消费与库存", "Energy purchase, consumption and stock"),
    "tables.green_factory.title": (
        "绿色工厂自评价表(smartpark 可计量指标)",
        "Green-factory self-evaluation (indicators smartpark measures)",
    ),
}

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def t(key: str, lang: Lang = "zh") -> str:
    """The label of ``key`` in ``lang``; the key itself when the table does not know it."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def method(name: str, lang: Lang = "zh") -> str:
    """An electricity method as GB/T 2589-2020 names it (``config.accounting.METHOD_LABELS``)."""
    for key, (zh, en) in METHOD_LABELS.items():
        if key == name:
            return zh if lang == "zh" else en
    return name


def unit(name: str | None, lang: Lang = "zh") -> str:
    """A unit as shown: ``fraction`` as %, m3 as m³ …; any other unit as it is."""
    if not name:
        return ""
    return t(f"unit.{name}", lang) if f"unit.{name}" in LABELS else name
