"""Fakes of external services, served over real HTTP on loopback for the tests."""
