"""The scoring query with the as-of date as a query parameter, for scheduled snapshots.

:func:`model_sql_as_of_param` writes :func:`~rfmkit.model_sql` with a bind parameter where the
as-of date goes (the row filter and the recency), so a scheduler (dbt, Airflow, cron) can run
the same text at every date and append the result to a snapshot table in place.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence

from rfmkit.errors import ParameterError
from rfmkit.export.sql_export import DIALECTS, model_sql
from rfmkit.model import RFMModel

# The bind-parameter syntax each dialect's usual client takes for a parameter named as_of.
PLACEHOLDERS = {
    "duckdb": "$as_of",  # duckdb: con.execute(sql, {"as_of": date})
    "postgres": "%(as_of)s",  # psycopg: cur.execute(sql, {"as_of": date})
    "spark": ":as_of",  # spark.sql(sql, args={"as_of": date}) (Spark 3.4+)
    "snowflake": "%(as_of)s",  # snowflake-connector-python, pyformat paramstyle
    "bigquery": "@as_of",  # a named query parameter of type DATE
}
# A date no transactions table holds, rendered by every dialect as the text '2999-12-31'.
_SENTINEL = dt.date(2999, 12, 31)


def model_sql_as_of_param(model: RFMModel | str | os.PathLike, *, dialect: str = "duckdb",
                          source: str | Sequence[str] = "transactions",
                          placeholder: str | None = None) -> str:
    """:func:`~rfmkit.model_sql` with the as-of date as a bind parameter.

    ``placeholder`` (default: :data:`PLACEHOLDERS` of the dialect) replaces the date literal
    in the row filter (rows after the date are left out) and in the recency; bind a DATE to it.
    """
    if dialect not in DIALECTS:
        raise ParameterError(f"Unknown dialect={dialect!r}. Choose one of: "
                             f"{', '.join(DIALECTS)}.")
    placeholder = placeholder or PLACEHOLDERS[dialect]
    sql = model_sql(model, dialect=dialect, source=source, as_of=_SENTINEL)
    literal = f"'{_SENTINEL.isoformat()}'"
    if sql.count(literal) < 2:  # the row filter and the recency
        raise RuntimeError(f"The {dialect} query holds the as-of date in an unexpected form.")
    return sql.replace(literal, placeholder)
