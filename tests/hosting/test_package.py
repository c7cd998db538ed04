from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_pulls_in_no_transport_database_or_geoip_data() -> None:
    code = (
        "import sys, node.hosting; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'sqlalchemy', 'geoip2fast')); "
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_names_are_exported() -> None:
    import node.hosting

    for name in node.hosting.__all__:
        assert getattr(node.hosting, name) is not None
    assert {"HostingFacts", "HostingResolver", "StaticResolver", "GeoIpResolver", "MmdbResolver"} <= set(
        node.hosting.__all__
    )
