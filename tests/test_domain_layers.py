"""The domain imports neither grpc nor sqlalchemy."""

from __future__ import annotations

import subprocess
import sys


def test_the_domain_packages_import_no_transport_and_no_database() -> None:
    code = (
        "import sys, node.cases.service, node.cases.statistics, node.hashes, node.hosting, node.clock\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'sqlalchemy'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
