"""The demand forecaster and the recommender: pure functions on arrays, no orchestrator.

Deterministic kernels, process-wide: with two or more threads some CPU kernels the recommender
uses (index_add_, embedding backward) sum in thread order, so the same seed on the same data gave
other weights on every run (measured on the demo shop: two trainings of one origin, two
hashes; with deterministic algorithms the same hash twice, and the forecaster's weights
unchanged). ``warn_only``: an op without a deterministic kernel warns instead of failing a day.
"""
import torch

torch.use_deterministic_algorithms(True, warn_only=True)
