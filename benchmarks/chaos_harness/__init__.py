"""The chaos harness of benchmarks/chaos: `convergent node` processes on network hosts of their
own (Linux network namespaces on a bridge), faults injected from a seeded schedule, clients that
log every call, and a checker of the history against the replicas after the final heal.

Modules: ``network`` (hosts and links), ``relay`` (a userspace link that delays, stalls and
drops), ``nodes`` (the node processes), ``schedule`` (faults from a seed), ``clients`` (the
workload and its history), ``checker`` (anomalies), ``report`` (table and timeline plot) and
``run`` (one schedule, start to verdict). Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
"""
