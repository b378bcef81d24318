"""Text search over cases: an index that finds any substring of two characters or more.

Chinese has no spaces between words, so a word tokenizer finds nothing useful, and a trigram
index (SQLite FTS5's ``trigram`` tokenizer, PostgreSQL's ``pg_trgm``) cannot answer the most
common searches, two characters long (a surname, 漏水, 物业): a pattern shorter than three
characters yields no trigram to look up. (``pg_trgm`` does index Chinese in a ``C.UTF-8``
database: its trigrams of 楼上卫生间 are hashed multibyte trigrams; the limit is the length.)

So the index holds *bigrams*: each run of letters and digits of a case's title, description,
case number and report number becomes its overlapping two-character pieces (楼上卫生间 →
楼上 上卫 卫生 生间), and a query becomes, per run of two or more characters, the *phrase* of its bigrams
(卫生间 → "卫生 生间": the two pieces next to each other), which matches exactly the texts
holding that run. Runs are AND-ed; the literal ``LIKE`` of the whole query is then checked on
the few candidates, so the result is exactly what a ``LIKE`` scan gives, without the scan. A
query with no run of two characters (one character) falls back to the scan.

- SQLite: a contentless FTS5 table ``case_search_fts`` (``rowid`` = case id, ``unicode61``
  tokens = bigrams), filled by triggers on ``cases`` that call ``mediation_grams``, a function
  each connection registers (:func:`register_sqlite_functions`, see mediation.db).
- PostgreSQL: a table ``case_search(case_id, grams)`` filled by a trigger (the bigrams made
  in SQL by ``mediation_grams``), with a GIN index on ``to_tsvector('simple', grams)``;
  queries are phrases of ``<->``, made in SQL by ``mediation_gram_query`` so that the text and
  the query are cut by the same rules.

The triggers fire on insert and on changes of the title, description or numbers only:
transitions do not touch the index. :func:`ensure_index` makes all this (idempotently, filling
the index from existing cases when it is new); ``mediation db upgrade`` and ``create_all``
call it. These objects are not models: migrations leave them alone (:data:`PREFIX`).
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, literal_column, or_, text
from sqlalchemy.engine import Connection

# Tables, triggers and functions of the index start with this; migrations ignore them.
PREFIX = "case_search"
# What the index covers (the columns of ``cases``).
COLUMNS = ("title", "description", "case_no", "report_no")
_RUN = re.compile(r"[^\W_]+")
# A one-character token after each run: the bigrams of two runs are never next to each other,
# so a phrase of bigrams matches exactly a run of the text (never one run's end and the next
# one's start). Queries are made of bigrams only, so it never matches anything itself.
SEPARATOR = "x"
# Queries the index answers exactly (one run of letters and digits, in the scripts whose
# letters every database classes alike): no LIKE check of the candidates needed.
_EXACT = re.compile(r"[0-9a-z\u4e00-\u9fff]{2,}")


def runs(value: str) -> list[str]:
    """The runs of letters and digits of ``value``, lower-cased."""
    return _RUN.findall(value.lower())


def grams(*values: str | None) -> str:
    """The bigrams of ``values``, space-separated, in order (the SQLite index's text)."""
    out: list[str] = []
    for value in values:
        for run in _RUN.findall((value or "").lower()):
            out.extend(a + b for a, b in pairwise(run))
            out.append(SEPARATOR)
    return " ".join(out)


def fts5_query(q: str) -> str | None:
    """The FTS5 MATCH expression for ``q`` (a phrase of bigrams per run of two characters or
    more, AND-ed), or None when ``q`` has no such run."""
    phrases = [" ".join(run[i:i + 2] for i in range(len(run) - 1)) for run in runs(q)
               if len(run) >= 2]
    return " AND ".join(f'"{p}"' for p in phrases) or None


def indexable(q: str) -> bool:
    """Whether the index can narrow a search for ``q``."""
    return any(len(run) >= 2 for run in runs(q))


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Give an SQLite connection the function its triggers call."""
    dbapi_conn.create_function("mediation_grams", len(COLUMNS), grams, deterministic=True)


def candidates(dialect: str, q: str) -> Any:
    """The ids of the cases whose indexed text may hold ``q`` (a superset: check ``LIKE``)."""
    if dialect == "sqlite":
        return (text("SELECT rowid FROM case_search_fts WHERE case_search_fts MATCH :fts_q")
                .bindparams(fts_q=fts5_query(q)).columns(literal_column("rowid")))
    return (text("SELECT case_id FROM case_search WHERE to_tsvector('simple', grams) "
                 "@@ to_tsquery('simple', mediation_gram_query(:fts_q))")
            .bindparams(fts_q=q).columns(literal_column("case_id")))


def matches(dialect: str, q: str, id_column: Any, like: ColumnElement[bool]) -> ColumnElement[bool]:
    """A WHERE clause: cases whose title, description or numbers hold ``q`` literally
    (``like``), found by the index when it can: exactly for one run of Chinese characters,
    ASCII letters and digits, else narrowed by it and decided by ``like``."""
    if not indexable(q):
        return like
    if dialect == "sqlite":
        found: Any = id_column.in_(candidates(dialect, q).subquery().select())
    else:
        # ANY(ARRAY(...)): the candidates are fetched first and the cases read by primary key;
        # as an IN the planner may scan every case to test the LIKE and join afterwards.
        found = text(f"{id_column.table.name}.{id_column.name} = ANY(ARRAY(SELECT case_id "
                     "FROM case_search WHERE to_tsvector('simple', grams) @@ "
                     "to_tsquery('simple', mediation_gram_query(:fts_q))))").bindparams(fts_q=q)
    return found if _EXACT.fullmatch(q.lower()) else and_(found, like)


# -- making the index -----------------------------------------------------------------------

_NEW = ", ".join(f"new.{c}" for c in COLUMNS)
_OLD = ", ".join(f"old.{c}" for c in COLUMNS)
_OF = ", ".join(COLUMNS)

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS case_search_fts USING fts5("
    "grams, content='', tokenize='unicode61 remove_diacritics 0')",
    f"""CREATE TRIGGER IF NOT EXISTS case_search_ai AFTER INSERT ON cases BEGIN
      INSERT INTO case_search_fts(rowid, grams) VALUES (new.id, mediation_grams({_NEW}));
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS case_search_au AFTER UPDATE OF {_OF} ON cases BEGIN
      INSERT INTO case_search_fts(case_search_fts, rowid, grams)
        VALUES ('delete', old.id, mediation_grams({_OLD}));
      INSERT INTO case_search_fts(rowid, grams) VALUES (new.id, mediation_grams({_NEW}));
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS case_search_ad AFTER DELETE ON cases BEGIN
      INSERT INTO case_search_fts(case_search_fts, rowid, grams)
        VALUES ('delete', old.id, mediation_grams({_OLD}));
    END""",
]

# PL/pgSQL loops over the characters: the same in set-returning SQL (regexp_split_to_table,
# generate_series) costs ~4 ms a case, fifty times more.
_PG_FUNCTIONS = [
    # The bigrams of each run of letters and digits, in order.
    """CREATE OR REPLACE FUNCTION mediation_grams(VARIADIC texts text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE c text[]; out text[] := '{}'; i int;
    BEGIN
      c := string_to_array(regexp_replace(lower(array_to_string(texts, ' ', '')),
                                          '[^[:alnum:]]+', ' ', 'g') || ' ', NULL);
      FOR i IN 1 .. coalesce(array_length(c, 1), 0) - 1 LOOP
        IF c[i] <> ' ' AND c[i + 1] <> ' ' THEN out := out || (c[i] || c[i + 1]);
        ELSIF c[i] <> ' ' THEN out := out || 'x'::text;  -- SEPARATOR: a run ends
        END IF;
      END LOOP;
      RETURN array_to_string(out, ' ');
    END $$""",
    # A tsquery: per run of two or more, the phrase of its bigrams; runs AND-ed.
    """CREATE OR REPLACE FUNCTION mediation_gram_query(q text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE c text[]; phrases text[] := '{}'; run text[] := '{}'; i int;
    BEGIN
      c := string_to_array(regexp_replace(lower(coalesce(q, '')), '[^[:alnum:]]+', ' ', 'g')
                           || ' ', NULL);
      FOR i IN 1 .. coalesce(array_length(c, 1), 0) - 1 LOOP
        IF c[i] <> ' ' AND c[i + 1] <> ' ' THEN
          run := run || (c[i] || c[i + 1]);
        ELSIF c[i] <> ' ' THEN
          IF coalesce(array_length(run, 1), 0) > 0 THEN
            phrases := phrases || array_to_string(run, ' <-> ');
          END IF;
          run := '{}';
        END IF;
      END LOOP;
      RETURN array_to_string(phrases, ' & ');
    END $$""",
    f"""CREATE OR REPLACE FUNCTION case_search_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO case_search(case_id, grams) VALUES (NEW.id, mediation_grams({_NEW.replace('new.', 'NEW.')}))
      ON CONFLICT (case_id) DO UPDATE SET grams = EXCLUDED.grams;
      RETURN NULL;
    END $$""",
]

PG_DDL = [
    "CREATE TABLE IF NOT EXISTS case_search (case_id integer PRIMARY KEY "
    "REFERENCES cases(id) ON DELETE CASCADE, grams text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS case_search_grams ON case_search "
    "USING gin (to_tsvector('simple', grams))",
    *_PG_FUNCTIONS,
    "DROP TRIGGER IF EXISTS case_search_sync ON cases",
    f"CREATE TRIGGER case_search_sync AFTER INSERT OR UPDATE OF {_OF} ON cases "
    "FOR EACH ROW EXECUTE FUNCTION case_search_sync()",
]


def ensure_index(conn: Connection) -> None:
    """Make the search index of ``conn``'s database if it is missing (filling it from the
    cases already there), and its triggers. Idempotent."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        register_sqlite_functions(conn.connection.driver_connection)
        new = conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'case_search_fts'").scalar() == 0
        for ddl in SQLITE_DDL:
            conn.exec_driver_sql(ddl)
        if new:
            conn.exec_driver_sql(
                "INSERT INTO case_search_fts(rowid, grams) "
                f"SELECT id, mediation_grams({', '.join(COLUMNS)}) FROM cases")
        return
    new = conn.exec_driver_sql("SELECT to_regclass('case_search') IS NULL").scalar()
    for ddl in PG_DDL:
        conn.exec_driver_sql(ddl)
    if new:
        conn.exec_driver_sql(
            "INSERT INTO case_search(case_id, grams) "
            f"SELECT id, mediation_grams({', '.join(COLUMNS)}) FROM cases")


def drop_index(conn: Connection) -> None:
    """Remove the index, its triggers and functions (before the tables they hang on go)."""
    if conn.dialect.name == "sqlite":
        for trigger in ("case_search_ai", "case_search_au", "case_search_ad"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS case_search_fts")
        return
    conn.exec_driver_sql("DROP TABLE IF EXISTS case_search")
    if conn.exec_driver_sql("SELECT to_regclass('cases') IS NOT NULL").scalar():
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS case_search_sync ON cases")
    for fn in ("case_search_sync()", "mediation_gram_query(text)", "mediation_grams(text[])"):
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {fn}")


def is_index_object(name: str | None) -> bool:
    """Whether ``name`` belongs to the index (migrations leave it alone)."""
    return bool(name) and str(name).startswith(PREFIX)


def like_any(columns: list[Any], q: str) -> ColumnElement[bool]:
    """``q`` literally (ignoring case) in any of ``columns``."""
    return or_(*(c.icontains(q, autoescape=True) for c in columns))
