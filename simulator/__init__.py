"""The network simulator: many real hotline nodes on loopback, driven by a scenario (see README.md)."""

import os

# Partitions and crashes make gRPC core print every refused reconnect to stderr; the simulator records
# them itself (faults.csv, nodes.log), so keep core quiet unless the user asked for its output.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
