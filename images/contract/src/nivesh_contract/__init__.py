"""The step contract and the model declarations: what the Airflow side and every step image agree on.

Dependency-free and light to import: DAG files import it while they are parsed.
"""
