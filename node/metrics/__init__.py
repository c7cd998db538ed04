"""Prometheus metrics of one node: gRPC calls (server interceptors), exchange deliveries (an observer of the
sender's and the receiver's results), and gauges read from the store at scrape time. Each node has a registry
of its own (the simulator builds many nodes in one process). Fed by results and reads: nothing here is called
from inside a use case's transaction."""
