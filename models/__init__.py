"""The demand forecaster and the recommender: pure functions on arrays, no orchestrator."""
