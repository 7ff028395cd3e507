"""Benchmarks of the service: throughput, latency, rule matching, database pages, memory."""
