"""Reference data shipped with citizenbot (districts, FAQ seed, routing, schedules).

Loaders read the files next to this module once per process.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


def path(name: str):
    return resources.files("data") / name


@dataclass(frozen=True)
class District:
    name: str  # as the city writes it, e.g. 苓雅區
    zip: str
    lat: float
    lng: float

    @property
    def short(self) -> str:
        return self.name[:-1] if self.name.endswith("區") else self.name


@lru_cache(maxsize=1)
def districts() -> tuple[District, ...]:
    with path("districts.csv").open(encoding="utf-8") as f:
        return tuple(
            District(row["district"], row["zip"], float(row["lat"]), float(row["lng"]))
            for row in csv.DictReader(f)
        )
