"""What leaves a fitted model: saved JSON, SQL for a warehouse, scoring inside an engine, output
files and tables, and MLflow."""
