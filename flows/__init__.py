"""The edges and the orchestration: HTTP clients, Prefect flows, the CLI, settings."""
