"""Table names as users write them: ``schema.table``, with double quotes around a part that
holds a dot or a quote. Pure Python; every part is quoted again when SQL is written."""

from __future__ import annotations

from collections.abc import Sequence

from rfmkit.errors import ParameterError


def table_parts(name: str | Sequence[str], *, max_parts: int = 2
                ) -> tuple[list[str], list[bool]]:
    """Split ``schema.table`` into parts; a part in double quotes may hold dots and quotes.

    ``max_parts=3`` also accepts ``catalog.schema.table``. Returns the parts and, for each,
    whether it was quoted.
    """
    if not isinstance(name, str):
        parts = [str(p) for p in name]
        return parts, [True] * len(parts)
    parts, quoted, buf, was_quoted, i = [], [], [], False, 0
    while i < len(name):
        ch = name[i]
        if ch == '"':
            j = i + 1
            while True:
                if j >= len(name):
                    raise ParameterError(f"Unbalanced double quote in table name {name!r}.")
                if name[j] == '"':
                    if name[j + 1:j + 2] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(name[j])
                j += 1
            was_quoted = True
            i = j + 1
        elif ch == ".":
            parts.append("".join(buf))
            quoted.append(was_quoted)
            buf, was_quoted = [], False
            i += 1
        else:
            buf.append(ch)
            i += 1
    parts.append("".join(buf))
    quoted.append(was_quoted)
    if not 1 <= len(parts) <= max_parts or not all(parts):
        forms = "TABLE or SCHEMA.TABLE" if max_parts == 2 else \
            "TABLE, SCHEMA.TABLE or CATALOG.SCHEMA.TABLE"
        raise ParameterError(
            f"Table name {name!r} must be {forms} (quote a part that holds a dot, "
            'e.g. \'"my.schema".orders\').'
        )
    return parts, quoted
