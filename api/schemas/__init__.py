"""What the API sends: response models, one module per resource (``parks``, ``energy``,
``accounting``, ``indicators``, ``targets``, ``alarms``, ``ledger``, ``quarantine``,
``provisioning``, ``declared``, ``common``), re-exported here: ``from api.schemas import ParkOut``.

Every instant goes out twice, as an ISO-8601 UTC string (``...Z``, millisecond precision) and as
integer milliseconds since the epoch (``*_ms``), so a browser and a script both read it without
parsing. Values are canonical units; the unit is in the field name (``power_kw``) or given beside
the value. Non-finite numbers (which JSON cannot carry) go out as ``null``.
"""

from __future__ import annotations

from api.schemas._base import finite_or_none, iso_from_ns, ms_from_ns
from api.schemas.accounting import (
    AccountingIn,
    AccountingOut,
    AccountingProfileOut,
    MethodLabelOut,
    profile_out,
)
from api.schemas.alarms import AlarmListOut, AlarmOut
from api.schemas.baselines import (
    BaselineDefinitionOut,
    BaselineIn,
    BaselineLimitsOut,
    BaselineListOut,
    BaselineModelOut,
    BaselineReasonOut,
    BaselineResultOut,
    BaselineSavingsOut,
    BaselineStatsOut,
)
from api.schemas.common import ErrorOut, HealthOut, MeOut
from api.schemas.declared import DeclarableOut, DeclaredIn, DeclaredOut
from api.schemas.energy import EnergyFigureOut, EnergyOut, EnergyPeriodOut
from api.schemas.indicators import (
    CityIndicatorsOut,
    CityParkOut,
    CityValueOut,
    FactorOut,
    IndicatorOut,
    IndicatorsOut,
)
from api.schemas.ledger import LedgerFieldOut, LedgerIntervalOut, LedgerIssueOut, LedgerOut
from api.schemas.parks import (
    BuildingOut,
    DeviceOut,
    FieldOut,
    FloorOut,
    LatestOut,
    ParkDetailOut,
    ParkOut,
    ReadingOut,
    SeriesOut,
    SeriesPointOut,
    TenantOut,
)
from api.schemas.provisioning import (
    DeviceApprovalIn,
    DeviceApprovedOut,
    DeviceRetireIn,
    PendingDeviceOut,
    PendingListOut,
)
from api.schemas.quarantine import QuarantineListOut, QuarantineOut
from api.schemas.targets import (
    MethodResultOut,
    TargetProfileOut,
    TargetRowOut,
    TargetsOut,
    ThresholdOut,
    YearEndOut,
)

__all__ = [
    "AccountingIn",
    "AccountingOut",
    "AccountingProfileOut",
    "AlarmListOut",
    "AlarmOut",
    "BaselineDefinitionOut",
    "BaselineIn",
    "BaselineLimitsOut",
    "BaselineListOut",
    "BaselineModelOut",
    "BaselineReasonOut",
    "BaselineResultOut",
    "BaselineSavingsOut",
    "BaselineStatsOut",
    "BuildingOut",
    "CityIndicatorsOut",
    "CityParkOut",
    "CityValueOut",
    "DeclarableOut",
    "DeclaredIn",
    "DeclaredOut",
    "DeviceApprovalIn",
    "DeviceApprovedOut",
    "DeviceOut",
    "DeviceRetireIn",
    "EnergyFigureOut",
    "EnergyOut",
    "EnergyPeriodOut",
    "ErrorOut",
    "FactorOut",
    "FieldOut",
    "FloorOut",
    "HealthOut",
    "IndicatorOut",
    "IndicatorsOut",
    "LatestOut",
    "LedgerFieldOut",
    "LedgerIntervalOut",
    "LedgerIssueOut",
    "LedgerOut",
    "MeOut",
    "MethodLabelOut",
    "MethodResultOut",
    "ParkDetailOut",
    "ParkOut",
    "PendingDeviceOut",
    "PendingListOut",
    "QuarantineListOut",
    "QuarantineOut",
    "ReadingOut",
    "SeriesOut",
    "SeriesPointOut",
    "TargetProfileOut",
    "TargetRowOut",
    "TargetsOut",
    "TenantOut",
    "ThresholdOut",
    "YearEndOut",
    "finite_or_none",
    "iso_from_ns",
    "ms_from_ns",
    "profile_out",
]
