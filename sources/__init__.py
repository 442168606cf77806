"""Pulling transactions: the landing-folder reader with its column mapping, and the synthetic shop."""
