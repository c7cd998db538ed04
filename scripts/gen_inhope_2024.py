"""Write simulator/scenarios/inhope-2024.toml: the INHOPE network of 2024 at its published 2024 volume.

    python scripts/gen_inhope_2024.py [--out simulator/scenarios/inhope-2024.toml]

Published figures (../shared/data/figures.md): 55 member hotlines in 51 countries (2024); 2,497,438 records
processed in 2024, 65% of them illegal, traced to 86 countries; 37% of the content was new (so 63% is
content classified before, matched by its hash). Reporting shares by hotline country: UK 35.03%, NL 19.79%,
DE 5.88% (2023, the latest published). Everything else is an assumption, stated in the file's header.
The output is deterministic: running the script again gives the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ANNUAL_RECORDS = 2_497_438
ILLEGAL_SHARE_OF_RECORDS = 0.65
NEW_CONTENT_SHARE = 0.37
KNOWN_SHARE = round(1.0 - NEW_CONTENT_SHARE, 4)
# Known content is illegal (it was classified BASELINE before); the new content's illegal share is what
# makes the records' share come out at 65%: 0.63 + 0.37 * x = 0.65.
NEW_ILLEGAL_SHARE = round((ILLEGAL_SHARE_OF_RECORDS - KNOWN_SHARE) / NEW_CONTENT_SHARE, 4)

# Member countries: the 42 of January 2021 (seeds/004) and nine more (an assumption: the figures give the
# 2024 count, 51, not the list). (code, name, report share, hosting share, provider median h, sigma,
# unresponsive share). Germany keeps five hotlines, every other member country one: 55 hotlines.
_MEMBERS: tuple[tuple[str, str, float, float, float, float, float], ...] = (
    ("AU", "Australia", 0.03, 0.003, 36, 1.0, 0.03),
    ("AT", "Austria", 0.012, 0.003, 36, 1.0, 0.03),
    ("BE", "Belgium", 0.012, 0.003, 36, 1.0, 0.03),
    ("BA", "Bosnia and Herzegovina", 0.00611, 0.003, 36, 1.0, 0.03),
    ("BR", "Brazil", 0.015, 0.003, 36, 1.0, 0.03),
    ("BG", "Bulgaria", 0.00611, 0.015, 60, 1.0, 0.08),
    ("KH", "Cambodia", 0.00611, 0.003, 36, 1.0, 0.03),
    ("CO", "Colombia", 0.00611, 0.003, 36, 1.0, 0.03),
    ("HR", "Croatia", 0.00611, 0.003, 36, 1.0, 0.03),
    ("CY", "Cyprus", 0.00611, 0.003, 36, 1.0, 0.03),
    ("CZ", "Czech Republic", 0.012, 0.01, 36, 1.0, 0.03),
    ("DK", "Denmark", 0.00611, 0.003, 36, 1.0, 0.03),
    ("EE", "Estonia", 0.00611, 0.003, 36, 1.0, 0.03),
    ("FI", "Finland", 0.00611, 0.003, 36, 1.0, 0.03),
    ("FR", "France", 0.02, 0.04, 36, 1.0, 0.03),
    ("DE", "Germany", 0.0588, 0.05, 20, 0.8, 0.01),
    ("GR", "Greece", 0.00611, 0.003, 36, 1.0, 0.03),
    ("HU", "Hungary", 0.012, 0.003, 36, 1.0, 0.03),
    ("IS", "Iceland", 0.00611, 0.003, 36, 1.0, 0.03),
    ("IE", "Ireland", 0.00611, 0.003, 36, 1.0, 0.03),
    ("IT", "Italy", 0.015, 0.003, 36, 1.0, 0.03),
    ("LV", "Latvia", 0.00611, 0.003, 36, 1.0, 0.03),
    ("LT", "Lithuania", 0.00611, 0.003, 36, 1.0, 0.03),
    ("LU", "Luxembourg", 0.00611, 0.02, 36, 1.0, 0.03),
    ("MT", "Malta", 0.00611, 0.003, 36, 1.0, 0.03),
    ("NL", "Netherlands", 0.1979, 0.3, 24, 0.9, 0.01),
    ("NZ", "New Zealand", 0.00611, 0.003, 36, 1.0, 0.03),
    ("PH", "Philippines", 0.00611, 0.003, 36, 1.0, 0.03),
    ("PL", "Poland", 0.015, 0.01, 36, 1.0, 0.03),
    ("PT", "Portugal", 0.00611, 0.003, 36, 1.0, 0.03),
    ("RO", "Romania", 0.00611, 0.015, 60, 1.0, 0.08),
    ("RU", "Russia", 0.02, 0.04, 120, 1.0, 0.25),
    ("SI", "Slovenia", 0.00611, 0.003, 36, 1.0, 0.03),
    ("ZA", "South Africa", 0.00611, 0.003, 36, 1.0, 0.03),
    ("KR", "South Korea", 0.00611, 0.003, 36, 1.0, 0.03),
    ("ES", "Spain", 0.015, 0.003, 36, 1.0, 0.03),
    ("SE", "Sweden", 0.00611, 0.01, 36, 1.0, 0.03),
    ("TR", "Turkey", 0.00611, 0.003, 36, 1.0, 0.03),
    ("TW", "Taiwan", 0.00611, 0.003, 36, 1.0, 0.03),
    ("TH", "Thailand", 0.00611, 0.003, 36, 1.0, 0.03),
    ("GB", "United Kingdom", 0.3503, 0.02, 12, 0.8, 0.01),
    ("US", "United States", 0.05, 0.16, 48, 1.0, 0.05),
    # The nine assumed newer members.
    ("CA", "Canada", 0.01, 0.03, 48, 1.0, 0.05),
    ("JP", "Japan", 0.008, 0.02, 48, 1.0, 0.05),
    ("SK", "Slovakia", 0.00611, 0.003, 36, 1.0, 0.03),
    ("AL", "Albania", 0.00611, 0.003, 36, 1.0, 0.03),
    ("RS", "Serbia", 0.00611, 0.003, 36, 1.0, 0.03),
    ("MD", "Moldova", 0.00611, 0.003, 36, 1.0, 0.03),
    ("MX", "Mexico", 0.008, 0.005, 48, 1.0, 0.05),
    ("KE", "Kenya", 0.00611, 0.003, 48, 1.0, 0.05),
    ("UA", "Ukraine", 0.00611, 0.015, 60, 1.0, 0.08),
)

# Hosting countries without a member hotline: 35, so that content is traced to 86 countries in all.
# Removal there takes weeks (28+ days where no hotline exists, 2023): a slow, often silent provider.
_NON_MEMBERS: tuple[tuple[str, str, float], ...] = (
    ("SG", "Singapore", 0.015),
    ("HK", "Hong Kong", 0.02),
    ("PA", "Panama", 0.01),
    ("SC", "Seychelles", 0.01),
    ("MY", "Malaysia", 0.01),
    ("VN", "Viet Nam", 0.01),
    ("BZ", "Belize", 0.01),
    ("CN", "China", 0.006),
    ("IN", "India", 0.004),
    ("ID", "Indonesia", 0.004),
    ("AR", "Argentina", 0.002),
    ("CL", "Chile", 0.002),
    ("PE", "Peru", 0.002),
    ("EC", "Ecuador", 0.002),
    ("UY", "Uruguay", 0.002),
    ("AE", "United Arab Emirates", 0.002),
    ("SA", "Saudi Arabia", 0.002),
    ("IL", "Israel", 0.002),
    ("EG", "Egypt", 0.002),
    ("NG", "Nigeria", 0.002),
    ("MA", "Morocco", 0.002),
    ("KZ", "Kazakhstan", 0.002),
    ("BY", "Belarus", 0.004),
    ("GE", "Georgia", 0.002),
    ("AM", "Armenia", 0.002),
    ("ME", "Montenegro", 0.002),
    ("MK", "North Macedonia", 0.002),
    ("PK", "Pakistan", 0.002),
    ("BD", "Bangladesh", 0.002),
    ("LK", "Sri Lanka", 0.002),
    ("CR", "Costa Rica", 0.002),
    ("DO", "Dominican Republic", 0.002),
    ("CH", "Switzerland", 0.004),
    ("NO", "Norway", 0.002),
    ("VG", "British Virgin Islands", 0.004),
)
_GERMAN_INTAKE = (0.4, 0.25, 0.15, 0.1, 0.1)

_HEADER = f"""\
# INHOPE in 2024: 55 member hotlines in 51 countries (five in Germany), and 35 hosting countries without a
# member hotline, so content is traced to 86 countries (2024). Report volume: the {ANNUAL_RECORDS:,} records the
# network processed in 2024, 65% of them illegal; 37% of the content was new, so {KNOWN_SHARE:.0%} of reports match
# a known hash (classified BASELINE before), and of the new content {NEW_ILLEGAL_SHARE:.2%} is illegal, which makes 65%
# of all records illegal. (Read as "37% of the illegal content was new", the known share would be 41% and
# the new content 41% illegal; this file follows the reading that 63% of all records are known content.)
# Reporting shares: UK 35.03%, NL 19.79%, DE 5.88% (2023, the latest published); the rest spread evenly.
# Assumptions, not data: which nine countries joined after January 2021 (CA, JP, SK, AL, RS, MD, MX, KE,
# UA), the 35 non-member hosting countries, every hosting share, every provider's response time and silent
# share, and the analysts', police's and holds' delays (as in inhope-2021). Every figure about hosting and
# providers is synthetic, chosen for simulation, and says nothing about any real provider.
# Generated by scripts/gen_inhope_2024.py: edit the script, not this file.
# A year (`hotline-sim run inhope-2024 --days 365`) samples the timeline once a simulated day.
"""


def render() -> str:
    lines = [
        _HEADER,
        "[simulation]",
        'name = "inhope-2024"',
        'description = "55 hotlines in 51 member countries plus 35 non-member hosting countries, 2024 volume"',
        "seed = 2024",
        "duration_hours = 168",
        "drain_hours = 72",
        "clock_scale = 400",
        f"annual_reports = {ANNUAL_RECORDS}",
        "sample_minutes = 1440",
        "drain_timeout_seconds = 300",
        "",
        "[world]",
        f"known_share = {KNOWN_SHARE}",
        f"illegal_share = {NEW_ILLEGAL_SHARE}",
        "baseline_share = 0.6",
        "reassess_agreement = 0.95",
        "lea_hold_probability = 0.05",
        "move_probability = 0.03",
        'fallback = "direct"',
        "analyst_delay = { median_hours = 4.0, sigma = 0.8 }",
        "lea_delay = { median_hours = 2.0, sigma = 0.6 }",
        "lea_hold = { median_hours = 48.0, sigma = 0.5 }",
        "",
    ]
    for code, name, report, hosting, median, sigma, silent in _MEMBERS:
        lines += [
            "[[countries]]",
            f'code = "{code}"',
            f'name = "{name}"',
            f"report_share = {report}",
            f"hosting_share = {hosting}",
            f"provider = {{ median_hours = {median}, sigma = {sigma} }}",
            f"unresponsive_share = {silent}",
            "",
        ]
    for code, name, hosting in _NON_MEMBERS:
        lines += [
            "[[countries]]",
            f'code = "{code}"',
            f'name = "{name}"',
            f"hosting_share = {hosting}",
            "provider = { median_hours = 700, sigma = 0.6 }",
            "unresponsive_share = 0.3",
            "",
        ]
    for code, *_ in _MEMBERS:
        if code == "DE":
            for i, share in enumerate(_GERMAN_INTAKE, start=1):
                lines += [
                    "[[hotlines]]",
                    f'node_id = "de-hotline-{i}"',
                    'country = "DE"',
                    f"designated = {'true' if i == 1 else 'false'}",
                    f"intake_share = {share}",
                    "",
                ]
        else:
            lines += ["[[hotlines]]", f'node_id = "{code.lower()}-hotline"', f'country = "{code}"', ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("simulator/scenarios/inhope-2024.toml"))
    args = parser.parse_args()
    args.out.write_text(render())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
