"""Small scenarios shared by the world-model tests: two member hotlines (NL, DE), and the same with Panama
hosting content without a member hotline of its own."""

TWO_MEMBERS = """
[simulation]
name = "levers"
seed = 4
duration_hours = 24
drain_hours = 110
annual_reports = 20000
max_reports = 45
sample_minutes = 240

[world]
move_probability = 0
lea_hold_probability = 0

[[countries]]
code = "NL"
report_share = 0.5
hosting_share = 0.3
provider = { median_hours = 3, sigma = 0.5 }

[[countries]]
code = "DE"
report_share = 0.5
hosting_share = 0.3
provider = { median_hours = 3, sigma = 0.5 }

[[hotlines]]
node_id = "nl-hotline"
country = "NL"

[[hotlines]]
node_id = "de-hotline"
country = "DE"
"""

NO_MEMBER = (
    TWO_MEMBERS
    + """
[[countries]]
code = "PA"
hosting_share = 0.4
provider = { median_hours = 5, sigma = 0.5 }
unresponsive_share = 0
"""
)
