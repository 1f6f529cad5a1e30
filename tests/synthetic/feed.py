"""The synthetic project's feed: each day's orders and the customer list, generated the same way
every time (seeded by the day), delivered into a landing zone as a real feed would be.

    land(settings, days(3), reference=True)   the reference files and three days of orders
    land(settings, days(3), SHIPMENTS)        three days of shipments
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from config.settings import Settings
from ingestion.landing import dataset_landing_dir, write_atomically
from tests.synthetic.schemas.customers import SEGMENTS
from tests.synthetic.schemas.orders import STATUSES

FIRST_DAY = date(2026, 1, 1)  # the datasets' dates.earliest
CUSTOMER_IDS = [f"C{number:03d}" for number in range(1, 13)]
STORE_IDS = ["S01", "S02", "S03"]
ORDERS, SHIPMENTS, CUSTOMERS, STORES = "orders", "shipments", "customers", "stores"
DAILY, REFERENCE = (ORDERS, SHIPMENTS), (CUSTOMERS, STORES)


def days(count: int, start: date = FIRST_DAY) -> list[date]:
    return [start + timedelta(days=offset) for offset in range(count)]


def customers_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": CUSTOMER_IDS,
            "customer_name": [f"Customer {code[1:]}" for code in CUSTOMER_IDS],
            "segment": [SEGMENTS[number % len(SEGMENTS)] for number in range(len(CUSTOMER_IDS))],
        }
    )


def orders_frame(day: date) -> pl.DataFrame:
    """One day's orders: 60 to 80 of them, fewer at weekends; some amounts not known yet."""
    rng = random.Random(day.toordinal())
    rows = rng.randint(60, 80) * (3 if day.weekday() < 5 else 2) // 3
    quantities = [rng.randint(1, 20) for _ in range(rows)]
    statuses = rng.choices(STATUSES, weights=[6, 3, 1], k=rows)
    return pl.DataFrame(
        {
            "order_id": [day.toordinal() * 1_000 + number for number in range(1, rows + 1)],
            "customer_id": [rng.choice(CUSTOMER_IDS) for _ in range(rows)],
            "order_date": [day] * rows,
            "status": statuses,
            "quantity": quantities,
            "amount_cents": [
                None if status == "placed" and rng.random() < 0.2 else quantity * rng.randint(199, 4_999)
                for quantity, status in zip(quantities, statuses, strict=True)
            ],
        },
        schema_overrides={"quantity": pl.Int32},
    )


def stores_frame() -> pl.DataFrame:
    return pl.DataFrame({"store_id": STORE_IDS, "city": ["Leeds", "York", "Hull"]})


def shipments_frame(day: date) -> pl.DataFrame:
    """One day's parcels: the orders of the day before that were not cancelled, one parcel each."""
    rng = random.Random(-day.toordinal())
    orders = orders_frame(day - timedelta(days=1)).filter(pl.col("status") != "cancelled")
    rows = orders.height
    return pl.DataFrame(
        {
            "shipment_id": [day.toordinal() * 1_000 + number for number in range(1, rows + 1)],
            "order_id": orders.get_column("order_id"),
            "store_id": [rng.choice(STORE_IDS) for _ in range(rows)],
            "shipped_on": [day] * rows,
            "weight_grams": [rng.randint(100, 20_000) for _ in range(rows)],
        },
        schema_overrides={"weight_grams": pl.Int32},
    )


FRAMES = {ORDERS: orders_frame, SHIPMENTS: shipments_frame}
REFERENCE_FRAMES = {CUSTOMERS: customers_frame, STORES: stores_frame}


def csv_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, null_value="NA")
    return buffer.getvalue()


def file_name(dataset: str, day: date | None = None) -> str:
    return f"{dataset}_{day.isoformat()}.csv" if day else f"{dataset}.csv"


def land(settings: Settings, delivered_days: Iterable[date] = (), *daily: str, reference: bool = False) -> list[Path]:
    """Deliver the reference files (``reference``) and the ``daily`` datasets' files (orders unless
    named) of ``delivered_days``; returns the landed paths."""
    files = {}
    if reference:
        for name, frame in REFERENCE_FRAMES.items():
            files[dataset_landing_dir(settings.landing, name) / file_name(name)] = csv_bytes(frame())
    for day in delivered_days:
        for name in daily or (ORDERS,):
            files[dataset_landing_dir(settings.landing, name) / file_name(name, day)] = csv_bytes(FRAMES[name](day))
    # Every file made first, then all landed at once: a delivery of several files arrives together.
    return [write_atomically(target, data) for target, data in files.items()]
