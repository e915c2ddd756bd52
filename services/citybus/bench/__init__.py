"""`citybus bench`: throughput, latency, recovery and memory of the bus on a local broker.

Every figure comes with a baseline measured in the same run, and the final figures are
checked against an independent computation. Nothing here runs in `make test`.
"""
