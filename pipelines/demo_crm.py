"""A sample CRM for the demo: realistic Nordic contacts with messy phones, in a SQLite file."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

FIRST = ["Anna", "Mikko", "Laura", "Juha", "Emma", "Ville", "Sofia", "Antti", "Aino", "Erik", "Maja", "Lars", "Elin", "Oskar"]
LAST = ["Virtanen", "Korhonen", "Nieminen", "Mäkinen", "Hämäläinen", "Laine", "Andersson", "Johansson", "Karlsson", "Nilsson"]
CITIES = {"FI": ["Helsinki", "Espoo", "Tampere", "Oulu", "Turku"], "SE": ["Stockholm", "Göteborg", "Malmö", "Uppsala"]}
GENDERS = ["Male", "Female", "Other", "f", "M", ""]


def _phone(rng: random.Random, region: str, index: int) -> str:
    """A valid mobile number of the region, written the many ways a CRM holds them."""
    if region == "SE":
        digits = f"70{index:07d}"
        return rng.choice([f"0{digits[:2]}-{digits[2:5]} {digits[5:7]} {digits[7:]}", f"+46 {digits}", f"0046{digits}"])
    digits = f"40{index:07d}"
    return rng.choice([f"0{digits[:2]} {digits[2:5]} {digits[5:]}", f"+358{digits}", f"00358 {digits}", f"0{digits}", f"+358-{digits[:2]}-{digits[2:]}"])


def create_crm(path: Path, contacts: int, seed: int = 7) -> int:
    """Write `contacts` rows to the table `contacts` of a new SQLite file; about 1% invalid or duplicate phones."""
    rng = random.Random(seed)
    path.unlink(missing_ok=True)
    rows = []
    for index in range(1, contacts + 1):
        region = "SE" if rng.random() < 0.15 else "FI"
        phone = _phone(rng, region, 1_000_000 + index)
        if index % 150 == 0:
            phone = rng.choice(["12345", "not a phone", ""])
        elif index % 170 == 0:
            phone = rows[-1][1]  # the same person entered twice
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append((
            index, phone, region, first, last, f"{first}.{last}{index}@example.com".lower(), rng.choice(CITIES[region]),
            rng.choice(GENDERS) or None, rng.randint(1940, 2006),
        ))
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, phone TEXT, region TEXT, first_name TEXT, last_name TEXT,"
            " email TEXT, city TEXT, gender TEXT, birth_year INTEGER)"
        )
        db.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
