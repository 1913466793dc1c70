"""Helpers of the static test harness (no cluster, no mocks of the Kubernetes API)."""
