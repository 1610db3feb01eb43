"""Which schemas and tables discovery turns into streams (include / exclude globs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

# Catalogs of the database engines themselves: never customer data.
SYSTEM_SCHEMAS = frozenset(
    {
        "information_schema",
        "pg_catalog",
        "pg_toast",
        "mysql",
        "performance_schema",
        "sys",
        "temp",
        "guest",
        "db_owner",
        "db_accessadmin",
        "db_securityadmin",
        "db_ddladmin",
        "db_backupoperator",
        "db_datareader",
        "db_datawriter",
        "db_denydatareader",
        "db_denydatawriter",
        "system",
        "outln",
        "xdb",
    }
)


def _matches(name: str, patterns: Sequence[str]) -> bool:
    folded = name.casefold()
    return any(fnmatchcase(folded, pattern.casefold()) for pattern in patterns)


@dataclass(frozen=True)
class DiscoveryFilter:
    """Glob patterns (``*``, ``?``, ``[abc]``; case-insensitive) on schema and table names.

    Table patterns match the bare table name or ``schema.table``. An empty include list
    means "everything"; excludes win over includes.
    """

    include_schemas: tuple[str, ...] = ()
    exclude_schemas: tuple[str, ...] = ()
    include_tables: tuple[str, ...] = ()
    exclude_tables: tuple[str, ...] = ()
    include_views: bool = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DiscoveryFilter:
        """Read the filter settings of the tap config."""
        return cls(
            include_schemas=tuple(config.get("include_schemas") or ()),
            exclude_schemas=tuple(config.get("exclude_schemas") or ()),
            include_tables=tuple(config.get("include_tables") or ()),
            exclude_tables=tuple(config.get("exclude_tables") or ()),
            include_views=bool(config.get("include_views", True)),
        )

    def schema_included(self, schema: str, *, default_schema: str | None, backend: str) -> bool:
        """Whether discovery looks into ``schema`` at all."""
        if self.exclude_schemas and _matches(schema, self.exclude_schemas):
            return False
        if self.include_schemas:
            return _matches(schema, self.include_schemas)
        if schema.casefold() in SYSTEM_SCHEMAS:
            return False
        # A MySQL server lists every database it hosts as a schema; by default read only
        # the one named in the URL, as the other engines do.
        if backend in ("mysql", "mariadb"):
            return schema == default_schema
        return True

    def table_included(self, schema: str | None, table: str) -> bool:
        """Whether ``table`` (in ``schema``) becomes a stream."""
        names = [table] if schema is None else [table, f"{schema}.{table}"]
        if self.exclude_tables and any(_matches(n, self.exclude_tables) for n in names):
            return False
        if self.include_tables:
            return any(_matches(n, self.include_tables) for n in names)
        return True
