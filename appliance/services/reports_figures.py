"""The dashboard's figures and series from summed buckets (formulas: reports_metrics and
docs/metrics.md). Pure arithmetic over a dict of sums, apart from naming series labels."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from appliance.models.reports import FRT_EDGES, FRT_HIST
from appliance.services.reports_metrics import METRICS

if TYPE_CHECKING:
    from appliance.services.reports import ReportFilter


def _ratio(key: str, num: float, den: float, scale: float = 1.0):
    from appliance.services.reports import Figure
    value = round(num * scale / den, 2) if den else None
    return Figure(key, value, METRICS[key].unit, float(num), float(den))


def _count(key: str, n: float, den: float = 1.0):
    from appliance.services.reports import Figure
    return Figure(key, float(n), METRICS[key].unit, float(n), float(den))


def quantile_seconds(hist: list[int], q: float) -> float | None:
    """The upper edge of the bin holding the q-quantile (the open last bin: its lower
    edge); None for an empty histogram."""
    n = sum(hist)
    if not n:
        return None
    rank, seen = q * n, 0
    for i, count in enumerate(hist):
        seen += count
        if count and seen >= rank:
            return float(FRT_EDGES[i] if i < len(FRT_EDGES) else FRT_EDGES[-1])
    return float(FRT_EDGES[-1])


def _quantile(key: str, hist: list[int], q: float):
    from appliance.services.reports import Figure
    n = sum(hist)
    return Figure(key, quantile_seconds(hist, q), "seconds", q * n, float(n))


def figures(t: dict, backlog_total: int) -> list:
    hist = [int(t[b]) for b in FRT_HIST]
    nps_net = t["nps_promoters"] - t["nps_detractors"]
    return [
        _count("volume", t["created"]),
        _count("resolved", t["resolved"]),
        _ratio("first_response_mean", t["frt_sum"], t["frt_n"]),
        _quantile("first_response_median", hist, 0.5),
        _quantile("first_response_p90", hist, 0.9),
        _ratio("aht", t["aht_sum"], t["resolved"]),
        _ratio("fcr", t["fcr"], t["resolved"], 100),
        _ratio("reopen_rate", t["reopened"], t["resolved"], 100),
        _ratio("csat", t["csat_good"], t["csat_answered"], 100),
        _ratio("csat_response_rate", t["csat_answered"], t["csat_sent"], 100),
        _ratio("nps", nps_net, t["nps_answered"], 100),
        _ratio("sla_compliance", t["sla_met"], t["sla_n"], 100),
        _count("backlog", backlog_total),
        _ratio("kb_coverage", t["kb_linked"], t["resolved"], 100),
        _count("kb_reuse", t["kb_inserted"], t["resolved"]),
        _ratio("time_to_assign", t["assign_sum"], t["assign_n"]),
        _count("reassignments", t["reassigns"], t["assign_n"]),
        _ratio("ai_accuracy", t["ai_accepted"], t["ai_suggested"], 100),
        _count("ai_corrected", t["ai_suggested"] - t["ai_accepted"], t["ai_suggested"]),
    ]


def by_day(flt: "ReportFilter", counts: dict):
    """Every day of the range, zero where nothing was created."""
    from appliance.services.reports import Series
    per_day = {(k if isinstance(k, dt.date) else dt.date.fromisoformat(str(k)[:10])): v
               for k, v in counts.items()}
    days = [flt.date_from + dt.timedelta(days=i)
            for i in range((flt.date_to - flt.date_from).days + 1)]
    labels = [d.isoformat() for d in days]
    return Series("volume_by_day", labels, [per_day.get(d, 0) for d in days], labels)


def named(key: str, counts: dict, model):
    """A series over ids (model: their names; 0 is "none") or plain values, largest first."""
    from appliance.services.reports import Series
    names: dict = {}
    ids = [k for k in counts if k]
    if model is not None and ids:
        attr = "path" if model.__name__ == "Category" else "name"
        names = {r.id: getattr(r, attr) or str(r.id)
                 for r in model.select(model.id, getattr(model, attr)).where(model.id.in_(ids))}
    order = sorted(counts, key=lambda k: (-counts[k], str(k)))
    labels = [names.get(k, str(k)) if k not in (0, "") else "-" for k in order]
    return Series(key, labels, [counts[k] for k in order], [str(k) for k in order])
