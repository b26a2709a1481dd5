"""The geometry of the dashboard's hourly chart, drawn by the server as inline SVG.

Pure arithmetic: counts in, rectangles and labels out, in the units of the SVG's
``viewBox``. The template only writes them down, so the page needs no script and the CSP
stays strict; the bars scale with the SVG's width on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.dashboard import CATEGORIES, Hour

LEFT, TOP, BOTTOM = 30.0, 8.0, 18.0  # room for the count labels, the top one, the hours
PLOT_HEIGHT = 100.0
SLOT = 12.0  # one hour: three bars and a gap
BAR = 3.4
LABEL_EVERY = 3  # an hour label every third slot keeps them legible at 360 px


@dataclass(frozen=True)
class Bar:
    series: str  # sent | received | failed: the CSS class
    count: int
    x: float
    y: float
    width: float
    height: float
    title: str  # the tooltip, e.g. "14:00-15:00: 3 sent"


@dataclass(frozen=True)
class Tick:
    at: float  # x for an hour label, y for a count label
    text: str


@dataclass(frozen=True)
class Row:
    """One hour of the table that stands beside the chart for screen readers."""

    label: str
    sent: int
    received: int
    failed: int


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    left: float
    baseline: float  # y of the x axis
    scale: int  # the count at the top of the plot
    bars: list[Bar]
    hour_ticks: list[Tick]
    count_ticks: list[Tick]
    rows: list[Row]
    busiest: Row | None  # the hour with the most traffic, if any
    totals: dict[str, int]


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 … at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def hourly_chart(hours: list[Hour], zone: str) -> Chart:
    tz = zone_of(zone)
    scale = nice_ceiling(max((hour.counts.peak for hour in hours), default=0))
    baseline = TOP + PLOT_HEIGHT
    bars: list[Bar] = []
    hour_ticks: list[Tick] = []
    rows: list[Row] = []
    for index, hour in enumerate(hours):
        start = hour.start.astimezone(tz)
        label = f"{_clock(start)}-{_clock(hour.start + timedelta(hours=1), tz)}"
        slot = LEFT + index * SLOT
        for position, series in enumerate(CATEGORIES):
            count = getattr(hour.counts, series)
            height = round(PLOT_HEIGHT * count / scale, 2)
            bars.append(
                Bar(
                    series=series,
                    count=count,
                    x=round(slot + 1 + position * BAR, 2),
                    y=round(baseline - height, 2),
                    width=BAR,
                    height=height,
                    title=f"{label}: {count} {series}",
                )
            )
        if index % LABEL_EVERY == 0:
            hour_ticks.append(Tick(round(slot + SLOT / 2, 2), _clock(start)))
        rows.append(Row(label, hour.counts.sent, hour.counts.received, hour.counts.failed))
    count_ticks = [
        Tick(round(baseline - PLOT_HEIGHT * value / scale, 2), str(value))
        for value in sorted({0, scale // 2, scale})
    ]
    totals = {series: sum(getattr(row, series) for row in rows) for series in CATEGORIES}
    busy = max(rows, key=lambda r: r.sent + r.received + r.failed, default=None)
    busiest = busy if busy is not None and busy.sent + busy.received + busy.failed else None
    return Chart(
        width=LEFT + len(hours) * SLOT + 4,
        height=TOP + PLOT_HEIGHT + BOTTOM,
        left=LEFT,
        baseline=baseline,
        scale=scale,
        bars=bars,
        hour_ticks=hour_ticks,
        count_ticks=count_ticks,
        rows=rows,
        busiest=busiest,
        totals=totals,
    )


def _clock(at: datetime, tz: ZoneInfo | None = None) -> str:
    return (at.astimezone(tz) if tz else at).strftime("%H:%M")
