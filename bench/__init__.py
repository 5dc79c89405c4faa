"""Benchmarks (``python -m bench``): wall times printed as ratios measured in one run.

Speed targets live here, never in timed unit tests: one run on one machine measures the real
engine on the local stack (relative to a no-op ``reconcile``) and the mocked program and policy
pack (relative to the 1x case), so the numbers compare across machines.
"""
