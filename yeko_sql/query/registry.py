"""The loaded queries: a ``Registry`` of ``Namespace`` objects, one per file.

Query names are unique across the whole registry (sqlc's rule), so a query can
be found as ``registry["schools.get_school"]`` or just ``registry["get_school"]``,
and one grep finds it everywhere. Both classes are immutable once built.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from yeko_sql.errors import DuplicateQueryError
from yeko_sql.query.compiler import Query

__all__ = ["Namespace", "Registry"]


def _missing(what: str, key: str, known: Iterable[str]) -> KeyError:
    close = difflib.get_close_matches(key, list(known), n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return KeyError(f"no {what} {key!r}{hint}")


class Namespace(Mapping[str, Query[object]]):
    """The queries of one ``.sql`` file, by name, in file order."""

    __slots__ = ("_name", "_queries")

    def __init__(self, name: str, queries: Iterable[Query[object]]) -> None:
        self._name = name
        self._queries = {query.name: query for query in queries}

    @property
    def name(self) -> str:
        """The namespace: the stem of its file."""
        return self._name

    def __getitem__(self, name: str) -> Query[object]:
        try:
            return self._queries[name]
        except KeyError:
            raise _missing(
                f"query in {self._name!r} named", name, self._queries
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)

    def __repr__(self) -> str:
        return f"<Namespace {self._name} ({len(self)} queries)>"


class Registry:
    """Every loaded query, by ``namespace.name`` or name; iterates in file order."""

    __slots__ = ("_by_name", "_namespaces", "_queries")

    def __init__(self, queries: Iterable[Query[object]] = ()) -> None:
        """Hold *queries*, in the order given.

        Raises:
            DuplicateQueryError: two queries share a name, in one file or two.
        """
        self._queries = tuple(queries)
        self._by_name: dict[str, Query[object]] = {}
        grouped: dict[str, list[Query[object]]] = {}
        for query in self._queries:
            first = self._by_name.setdefault(query.name, query)
            if first is not query:
                raise DuplicateQueryError(
                    query.path,
                    query.line,
                    f"query {query.name!r} is already defined at"
                    f" {first.path}:{first.line}",
                    "query names are unique across all files; rename one",
                )
            grouped.setdefault(query.namespace, []).append(query)
        self._namespaces = MappingProxyType(
            {name: Namespace(name, group) for name, group in grouped.items()}
        )

    @property
    def namespaces(self) -> Mapping[str, Namespace]:
        """Every namespace, by name, in file order."""
        return self._namespaces

    def namespace(self, name: str) -> Namespace:
        """Return the namespace *name*; a ``KeyError`` suggests close names."""
        try:
            return self._namespaces[name]
        except KeyError:
            raise _missing("namespace", name, self._namespaces) from None

    def __getitem__(self, key: str) -> Query[object]:
        namespace, dot, name = key.rpartition(".")
        query = self._by_name.get(name)
        if query is not None and (not dot or query.namespace == namespace):
            return query
        known = [q.qualname for q in self._queries] if dot else list(self._by_name)
        raise _missing("query", key, known)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[Query[object]]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)

    def __repr__(self) -> str:
        return (
            f"<Registry ({len(self._namespaces)} namespaces,"
            f" {len(self._queries)} queries)>"
        )
