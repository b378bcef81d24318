"""The engine's hot path: its few statements compiled once per database and run on the DBAPI
cursor of the session's connection (issue 9).

A transition issues the same statements whether they go through SQLAlchemy Core or here; this
module only skips the work Core repeats for every execution (the compiled cache lookup, the
execution context, the result object): the SQL text and its parameter order are computed once
per dialect from ordinary Core statements, and parameters and results pass through the same
type processors Core would apply, so what is written and read is byte for byte what Core writes
and reads. The statements run in the session's transaction, on its connection.

When anyone watches the connection's statements (a ``before_cursor_execute`` or
``after_cursor_execute`` listener: statement counts, fault injection in tests, the benchmark's
capture) or the engine echoes SQL, every statement goes through SQLAlchemy's
``exec_driver_sql`` instead, so the listeners see each one as it is. Database errors are raised
as SQLAlchemy's (``sqlalchemy.exc.IntegrityError`` ...), a lost connection invalidated, as Core
does.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import exc, inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None
_MISSING = object()


class Prepared:
    """One Core statement compiled for one dialect: its SQL text, the order of its parameters
    with their bind processors, and the result processors of the columns it returns."""

    __slots__ = ("binds", "positional", "results", "returns", "sql")

    def __init__(self, stmt: ClauseElement, dialect: Dialect, keys: Sequence[str] | None = None,
                 columns: Sequence[ColumnElement[Any]] = ()):
        compiled = cast(SQLCompiler, stmt.compile(dialect=dialect,
                                                  column_keys=list(keys) if keys else None))
        if compiled.escaped_bind_names:  # pragma: no cover - names are chosen plain
            raise ValueError(f"bind names needing escapes: {compiled.escaped_bind_names}")
        defaults = [*compiled.insert_prefetch, *compiled.update_prefetch]
        if defaults:  # Core would compute these per execution: the caller must give them
            raise ValueError("columns with Python-side defaults left out: "
                             + ", ".join(str(c) for c in defaults))
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        names = list(compiled.positiontup or ()) if self.positional else list(compiled.binds)
        binds = []
        for name in names:
            bind = compiled.binds[name]
            if bind.expanding:  # pragma: no cover - IN lists are not for this path
                raise ValueError(f"expanding parameter {name}")
            proc = bind.type._cached_bind_processor(dialect)  # what Core runs
            # A value the statement carries itself (a literal), or _MISSING: the caller's.
            fixed = _MISSING if bind.required or bind.callable is not None else bind.value
            binds.append((name, proc, fixed))
        self.binds: tuple[tuple[str, Processor, Any], ...] = tuple(binds)
        self.results: tuple[Processor, ...] = tuple(
            col.type._cached_result_processor(dialect, None)
            for col in columns)
        self.returns = bool(columns)

    def params(self, values: Mapping[str, Any]) -> Any:
        """The DBAPI parameters for ``values`` (a tuple or a dict, as the driver wants)."""
        if self.positional:
            return tuple(_param(values, name, proc, fixed) for name, proc, fixed in self.binds)
        return {name: _param(values, name, proc, fixed) for name, proc, fixed in self.binds}

    def row(self, raw: Sequence[Any] | None) -> tuple[Any, ...] | None:
        """A returned row with Core's result processing applied."""
        if raw is None:
            return None
        return tuple(v if p is None or v is None else p(v)
                     for p, v in zip(self.results, raw, strict=True))


def _param(values: Mapping[str, Any], name: str, proc: Processor, fixed: Any) -> Any:
    value = values.get(name, fixed)
    if value is _MISSING:
        raise KeyError(f"a value is required for parameter {name!r}")
    return proc(value) if proc is not None and value is not None else value


class Statements:
    """Statements prepared once per dialect, by name; ``build(key)`` makes the Core statement
    (and the columns it returns) the first time a dialect asks for ``key``."""

    def __init__(self, build: Callable[[Any], tuple[ClauseElement, Sequence[str] | None,
                                                     Sequence[ColumnElement[Any]]]]):
        self._build = build
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, dict[Any, Prepared]] = (
            weakref.WeakKeyDictionary())

    def get(self, dialect: Dialect, key: Any) -> Prepared:
        """The statement ``key`` prepared for ``dialect``."""
        cache = self._by_dialect.get(dialect)
        if cache is None:
            cache = self._by_dialect.setdefault(dialect, {})
        found = cache.get(key)
        if found is None:
            stmt, keys, columns = self._build(key)
            found = cache[key] = Prepared(stmt, dialect, keys, columns)
        return found


class Runner:
    """The connection of a session's transaction, running prepared statements."""

    __slots__ = ("_cursor", "conn", "dialect", "watched")

    def __init__(self, conn: Connection):
        self.conn = conn
        self.dialect = conn.dialect
        dispatch = conn.dispatch
        self.watched = bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute
                            or conn._echo)  # echo: "show every statement"
        self._cursor: Any = None

    @property
    def cursor(self) -> Any:
        """A DBAPI cursor of the connection, made on first use."""
        if self._cursor is None:
            self._cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        return self._cursor

    def execute(self, stmt: Prepared, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run ``stmt``; its first row (processed) when it returns columns."""
        params = stmt.params(values)
        if self.watched:
            result = self.conn.exec_driver_sql(stmt.sql, params)
            rows: Sequence[Any] = result.fetchall() if stmt.returns else ()
        else:
            cursor = self.cursor
            try:
                cursor.execute(stmt.sql, params)
                # every row read: a statement left open would hold SQLite's COMMIT back
                rows = cursor.fetchall() if stmt.returns else ()
            except self.dialect.loaded_dbapi.Error as err:
                raise self._wrap(err, stmt.sql, params) from err
        return stmt.row(rows[0]) if rows else None

    def rowcount(self, stmt: Prepared, values: Mapping[str, Any]) -> int:
        """Run ``stmt`` (an UPDATE or DELETE); the rows it matched."""
        params = stmt.params(values)
        if self.watched:
            return int(self.conn.exec_driver_sql(stmt.sql, params).rowcount)
        cursor = self.cursor
        try:
            cursor.execute(stmt.sql, params)
        except self.dialect.loaded_dbapi.Error as err:
            raise self._wrap(err, stmt.sql, params) from err
        return int(cursor.rowcount)

    def all(self, stmt: Prepared, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run ``stmt``; every row it returns (processed)."""
        params = stmt.params(values)
        if self.watched:
            rows: Iterable[Any] = self.conn.exec_driver_sql(stmt.sql, params).fetchall()
        else:
            cursor = self.cursor
            try:
                cursor.execute(stmt.sql, params)
                rows = cursor.fetchall()
            except self.dialect.loaded_dbapi.Error as err:
                raise self._wrap(err, stmt.sql, params) from err
        return [stmt.row(r) for r in rows]  # type: ignore[misc]

    def many(self, stmt: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run ``stmt`` once per parameter set (``executemany``)."""
        if not rows:
            return
        params = [stmt.params(r) for r in rows]
        if self.watched:
            self.conn.exec_driver_sql(stmt.sql, params)
            return
        try:
            self.cursor.executemany(stmt.sql, params)
        except self.dialect.loaded_dbapi.Error as err:
            raise self._wrap(err, stmt.sql, params) from err

    def _wrap(self, err: Any, sql: str, params: Any) -> exc.StatementError:
        """The error as SQLAlchemy raises it; a lost connection is invalidated."""
        lost = self.dialect.is_disconnect(err, self.conn.connection.dbapi_connection,
                                          self._cursor)
        if lost:
            self.conn.invalidate(err)
        return exc.DBAPIError.instance(sql, params, err, self.dialect.loaded_dbapi.Error,
                                       connection_invalidated=lost, dialect=self.dialect)


_RUNNER = "mediation.fastpath.runner"


def runner(session: Session) -> Runner:
    """The runner of ``session``'s current transaction (begun if need be)."""
    conn = session.connection()
    found: Runner | None = session.info.get(_RUNNER)
    if found is None or found.conn is not conn or found.conn.closed:
        found = session.info[_RUNNER] = Runner(conn)
    return found


def materialize(session: Session, cls: type, values: dict[str, Any]) -> Any:
    """The persistent object of ``cls`` whose columns are ``values`` (a row just read in this
    transaction), as a query with ``populate_existing`` gives it: the object of the session's
    identity map refreshed, or a new one added to the session. Relationships not set are
    loaded on first access, as usual."""
    mapper: Any = inspect(cls)
    key = mapper.identity_key_from_primary_key(
        tuple(values[c.key] for c in mapper.primary_key))
    obj = session.identity_map.get(key)
    if obj is not None:
        for name, value in values.items():
            set_committed_value(obj, name, value)
        return obj
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
