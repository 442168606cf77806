"""Storage: settings, the DuckDB warehouse, running dbt, atomic publishing. Knows nothing of Prefect."""
