"""The plan's encoding and cost preview on N recipients (default 1,000,000): planning an SMS campaign, then
the preview's lines for content with GSM-7 look-alikes (each recipient rendered again with them replaced) and
for plain GSM-7 content (the planned parts summed, nothing rendered).

    python bench/plan_preview.py [--recipients 1000000]
"""

from __future__ import annotations

import argparse
import time

from smartdialog_sync.destinations.campaigns.config import CampaignSettings
from smartdialog_sync.destinations.campaigns.planner import plan_sms
from smartdialog_sync.destinations.campaigns.preview import content_preview_lines
from smartdialog_sync.destinations.campaigns.recipients import Recipient

CONTENTS = {
    "look-alikes": "Hei {{first_name}}! Our ’spring’ sale – 20\u00a0% off in {{city}}… see you soon",
    "plain GSM-7": "Hei {{first_name}}! Our 'spring' sale - 20 % off in {{city}}... see you soon",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    count = parser.parse_args().recipients
    recipients = [Recipient(f"+35840{i:07d}", {"first_name": f"Name{i}", "city": ("Espoo", "Oulu")[i % 2]})
                  for i in range(count)]
    settings = CampaignSettings((), 1000, 10, None, price_per_part=0.065, currency="EUR")
    for name, content in CONTENTS.items():
        started = time.perf_counter()
        batches = plan_sms("bench", recipients, content, 1000, 10)
        planned = time.perf_counter()
        lines = content_preview_lines(content, batches, settings)
        done = time.perf_counter()
        print(f"{name}: plan {planned - started:.2f} s, preview {done - planned:.2f} s "
              f"({(done - planned) / count * 1e6:.1f} µs per recipient)")
        for line in lines:
            print(line)


if __name__ == "__main__":
    main()
