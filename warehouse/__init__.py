"""Everything persistent: the DuckDB schema and migrations, loaders, views,
the raw store and the Parquet export. No Prefect, no network."""
