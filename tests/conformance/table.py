"""The conformance table: Redshift SQL, the fixture it runs on, and the rows Redshift returns.

Every case is plain Redshift SQL (`{schema}` is the schema the fixture was loaded
into) with the rows Amazon Redshift returns for it, worked out from Redshift's
documentation, not from what DuckDB happens to print. The same table runs on the
embedded warehouse (tests/integration/test_conformance.py) and, opt-in, on a
real Redshift (tests/integration/test_redshift_live.py): a case that passes on
one and fails on the other is a translation bug (or a wrong expectation).

Conventions for `expected`: rows in the query's ORDER BY; timestamps as
'YYYY-MM-DD HH:MM:SS' in UTC (TIMESTAMPTZ shown without its '+00'); numbers as
Python numbers (an `int` expectation also pins an integer result type); a SUPER
result that is an array or object as `Json(...)`, compared as parsed JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.aws import sql

SCHEMA = "scraped"
LOADED_AT = "2024-04-02 00:00:00+00"


@dataclass(frozen=True)
class Json:
    """An expected SUPER value (array or object), compared as parsed JSON."""

    value: Any


@dataclass(frozen=True)
class Case:
    """One row of the conformance table."""

    name: str
    redshift_sql: str
    expected_rows: list[tuple[Any, ...]]
    constructs: tuple[str, ...] = field(default=())

    def sql(self, schema: str = SCHEMA) -> str:
        return self.redshift_sql.replace("{schema}", schema)


# --------------------------------------------------------------------------- fixture

# Ten messages in two chats. `entities` cover: arrays of 0..3 tickers, a nested
# signal with entry/targets arrays, a JSON null signal, a missing `tickers` key, a
# NULL column, Unicode (Cyrillic, an emoji, an em dash). Object keys are written
# sorted: DuckDB's VARIANT keeps keys sorted, Redshift keeps them as written.
_MESSAGES: list[dict[str, Any]] = [
    {"message_id": 101, "chat_link": -1001, "trader_id": 7, "reply_message_id": None,
     "message_timestamp": "2024-03-01 09:15:00+00", "processing_time": "2024-03-01 09:15:05+00",
     "message_content": "Long $BTC entry 62000 targets 64000, 66500.5 sl 60000 #btc",
     "entities": {"hashtags": ["btc"], "mentions": [], "pairs": [],
                  "signal": {"entry": [62000], "leverage": 10, "side": "long", "stop": 60000,
                             "symbol": "BTC", "targets": [64000, 66500.5]},
                  "tickers": ["BTC"], "urls": []}},
    {"message_id": 102, "chat_link": -1001, "trader_id": 8, "reply_message_id": None,
     "message_timestamp": "2024-03-01 23:59:30+00", "processing_time": "2024-03-02 00:00:20+00",
     "message_content": "gm",
     "entities": {"hashtags": [], "mentions": [], "pairs": [], "signal": None, "tickers": [],
                  "urls": []}},
    {"message_id": 103, "chat_link": -1001, "trader_id": 7, "reply_message_id": 101,
     "message_timestamp": "2024-03-02 00:00:10+00", "processing_time": "2024-03-02 00:01:00+00",
     "message_content": "Short ETH/USDT $eth 3400.5 tp 3300 3200 3100 sl 3500",
     "entities": {"hashtags": [], "mentions": [], "pairs": ["ETH/USDT"],
                  "signal": {"entry": [3400.5], "side": "short", "stop": 3500, "symbol": "ETH",
                             "targets": [3300, 3200, 3100]},
                  "tickers": ["ETH"], "urls": []}},
    {"message_id": 104, "chat_link": -1002, "trader_id": None, "reply_message_id": None,
     "message_timestamp": "2024-03-02 12:00:00+00", "processing_time": "2024-03-02 12:00:01+00",
     "message_content": "", "entities": None},
    {"message_id": 105, "chat_link": -1002, "trader_id": 9, "reply_message_id": None,
     "message_timestamp": "2024-03-03 08:00:00+00", "processing_time": "2024-03-03 08:00:02+00",
     "message_content": "Привет 🚀 $SOL/USDT и $TON — смотрите t.me/x",
     "entities": {"hashtags": [], "mentions": [], "pairs": ["SOL/USDT"], "signal": None,
                  "tickers": ["SOL", "TON"], "urls": ["t.me/x"]},
     "raw_extra": {"message_content_truncated": True}},
    {"message_id": 106, "chat_link": -1002, "trader_id": 9, "reply_message_id": 105,
     "message_timestamp": "2024-03-03 08:05:00+00", "processing_time": "2024-03-03 08:05:01+00",
     "message_content": "ping @alice @bob",
     "entities": {"hashtags": [], "mentions": ["alice", "bob"], "pairs": [], "signal": None,
                  "tickers": [], "urls": []}},
    {"message_id": 107, "chat_link": -1001, "trader_id": 8, "reply_message_id": None,
     "message_timestamp": "2024-03-04 10:00:00+00", "processing_time": "2024-03-04 10:00:01+00",
     "message_content": "BTC ETH SOL",
     "entities": {"hashtags": [], "mentions": [], "pairs": [], "signal": None,
                  "tickers": ["BTC", "ETH", "SOL"], "urls": []}},
    {"message_id": 108, "chat_link": -1001, "trader_id": 10, "reply_message_id": None,
     "message_timestamp": "2024-03-10 18:30:00+00", "processing_time": "2024-03-10 18:30:03+00",
     "message_content": "long btc x20 entry 61500 tp 63000",
     "entities": {"hashtags": [], "mentions": [], "pairs": [],
                  "signal": {"entry": [61500], "leverage": 20, "side": "long", "stop": None,
                             "symbol": "BTC", "targets": [63000]},
                  "tickers": ["BTC"], "urls": []}},
    {"message_id": 109, "chat_link": -1002, "trader_id": 11, "reply_message_id": None,
     "message_timestamp": "2024-03-05 14:00:00+00", "processing_time": "2024-03-05 14:00:00+00",
     "message_content": "see https://example.com/a?b=1",
     "entities": {"urls": ["https://example.com/a?b=1"]}},
    {"message_id": 110, "chat_link": -1002, "trader_id": 7, "reply_message_id": None,
     "message_timestamp": "2024-03-31 23:00:00+00", "processing_time": "2024-04-01 00:30:00+00",
     "message_content": '{"note":{"lang":"en","score":2},"tags":["a","b"]}',
     "entities": {"hashtags": [], "mentions": [], "pairs": [],
                  "signal": {"entry": [0.1234], "side": "long", "symbol": "DOGE", "targets": []},
                  "tickers": ["DOGE"], "urls": []}},
]
# Message 103 observed again by a later scrape: the dedup view keeps this observation.
_REOBSERVED = {**_MESSAGES[2], "processing_time": "2024-03-02 06:00:00+00"}


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _json_parse(value: Any) -> str:
    if value is None:
        return "NULL"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"JSON_PARSE({_literal(text)})"


def _row(message: dict[str, Any], batch_id: str, row_no: int) -> str:
    raw = {"chat_link": message["chat_link"], "message_id": message["message_id"],
           "source": "fixture", "trader_id": message["trader_id"],
           **message.get("raw_extra", {})}
    values = [
        _literal(message["message_id"]), _literal(message["message_timestamp"]),
        _literal(message["message_content"]), _literal(message["reply_message_id"]),
        _literal(message["trader_id"]), _literal(message["chat_link"]),
        _literal(message["processing_time"]), _json_parse(message["entities"]),
        _json_parse(raw), _literal(batch_id), "1", str(row_no), _literal(LOADED_AT),
    ]
    return "(" + ", ".join(values) + ")"


def fixture_sql(schema: str = SCHEMA) -> list[str]:
    """The statements that build the fixture: the project's DDL, then one INSERT."""
    columns = ", ".join(c.sql for c in (*sql.MESSAGE_COLUMNS, sql.LOADED_AT))
    rows = [_row(m, "fixture-a", i) for i, m in enumerate(_MESSAGES)]
    rows.append(_row(_REOBSERVED, "fixture-b", 0))
    insert = (f"INSERT INTO {sql.qualified(schema, sql.MESSAGES_TABLE)} ({columns})\nVALUES\n"
              + ",\n".join(rows))
    return [*sql.render_ddl(schema), insert]


# --------------------------------------------------------------------------- cases

_M = "{schema}.telegram_messages AS m"
_A = "m.batch_id = 'fixture-a'"  # one observation per message

CASES: list[Case] = [
    # ---- SUPER navigation
    Case("dot navigation into nested objects",
         f"SELECT m.message_id, m.entities.signal.side::VARCHAR AS side,\n"
         f"       m.entities.signal.symbol::VARCHAR AS symbol\n"
         f"FROM {_M} WHERE {_A} ORDER BY m.message_id",
         [(101, "long", "BTC"), (102, None, None), (103, "short", "ETH"), (104, None, None),
          (105, None, None), (106, None, None), (107, None, None), (108, "long", "BTC"),
          (109, None, None), (110, "long", "DOGE")],
         ("dot navigation", "::VARCHAR on SUPER", "lax navigation")),
    Case("attribute names fold to lower case, like every Redshift identifier",
         f"SELECT m.Entities.Signal.SIDE::VARCHAR AS side, m.entities.TICKERS[0]::VARCHAR AS t\n"
         f"FROM {_M} WHERE {_A} AND m.message_id = 101",
         [("long", "BTC")],
         ("case-insensitive attribute names",)),
    Case("subscripts count from zero",
         f"SELECT m.message_id, m.entities.tickers[0]::VARCHAR AS first,\n"
         f"       m.entities.tickers[1]::VARCHAR AS second\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 102, 105, 107) ORDER BY 1",
         [(101, "BTC", None), (102, None, None), (105, "SOL", "TON"), (107, "BTC", "ETH")],
         ("[i] subscript",)),
    Case("subscript on a nested path",
         f"SELECT m.message_id, m.entities.signal.targets[1]::FLOAT AS second_target,\n"
         f"       m.entities.signal.targets[5]::FLOAT AS out_of_bounds,\n"
         f"       m.entities.signal.entry[0]::FLOAT AS entry\n"
         f"FROM {_M} WHERE {_A} AND m.entities.signal.side IS NOT NULL ORDER BY 1",
         [(101, 66500.5, None, 62000.0), (103, 3200.0, None, 3400.5),
          (108, None, None, 61500.0), (110, None, None, 0.1234)],
         ("nested [i] subscript", "::FLOAT on SUPER")),
    Case("a reserved word column quoted, navigated",
         f'SELECT m."raw".message_id::BIGINT AS raw_id, m."raw".source::VARCHAR AS source,\n'
         f'       COUNT(m."raw".message_content_truncated) OVER () AS truncated\n'
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 105) ORDER BY 1",
         [(101, "fixture", 1), (105, "fixture", 1)],
         ('"raw" column', "::BIGINT on SUPER")),
    Case("casts of SUPER are lax: a mistyped value is null",
         f"SELECT m.message_id, m.entities.signal.leverage::INT AS leverage,\n"
         f"       m.entities.signal.entry[0]::BIGINT AS entry,\n"
         f"       m.entities.signal.side::INT AS side_as_int,\n"
         f"       m.entities.signal::VARCHAR AS object_as_text,\n"
         f"       m.entities.signal.targets[1]::INT AS rounded\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 108) ORDER BY 1",
         [(101, 10, 62000, None, None, 66501), (108, 20, 61500, None, None, None)],
         ("::INT on SUPER", "::BIGINT on SUPER", "lax casts")),
    Case("arithmetic on SUPER values, cast explicitly or not",
         f"SELECT m.message_id, m.entities.signal.targets[1]::FLOAT + 1 AS cast_first,\n"
         f"       (m.entities.signal.targets[1] + 1)::FLOAT AS super_sum,\n"
         f"       (m.entities.signal.leverage / 3)::INT AS int_division,\n"
         f"       (JSON_PARSE('1.5') + 1)::FLOAT AS one_and_a_half_plus_one\n"
         f"FROM {_M} WHERE {_A} AND m.message_id = 101",
         [(101, 66501.5, 66501.5, 3, 2.5)],
         ("SUPER arithmetic", "::FLOAT on SUPER")),
    Case("comparisons follow the SUPER value's dynamic type",
         f"SELECT m.message_id, m.entities.signal.leverage > 5 AS big_leverage,\n"
         f"       m.entities.signal.entry[0] = 3400.5 AS entry_3400_5,\n"
         f"       m.entities.signal.side = 'short' AS is_short,\n"
         f"       m.entities.signal.side = 1 AS side_is_one\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 103, 110) ORDER BY 1",
         [(101, True, False, False, False), (103, None, True, True, False),
          (110, None, False, False, False)],
         ("SUPER comparison",)),
    # ---- unnesting
    Case("unnest a SUPER array in FROM: one row per element, empty arrays dropped",
         f"SELECT m.message_id, tk::VARCHAR AS ticker\n"
         f"FROM {_M}, m.entities.tickers AS tk WHERE {_A} ORDER BY 1, 2",
         [(101, "BTC"), (103, "ETH"), (105, "SOL"), (105, "TON"), (107, "BTC"), (107, "ETH"),
          (107, "SOL"), (108, "BTC"), (110, "DOGE")],
         ("PartiQL unnest",)),
    Case("unnest with AT: the element's 0-based position",
         f"SELECT m.message_id, i AS idx, tk::VARCHAR AS ticker\n"
         f"FROM {_M}, m.entities.tickers AS tk AT i\n"
         f"WHERE {_A} AND m.message_id IN (105, 107) ORDER BY 1, 2",
         [(105, 0, "SOL"), (105, 1, "TON"), (107, 0, "BTC"), (107, 1, "ETH"),
          (107, 2, "SOL")],
         ("PartiQL unnest AT",)),
    Case("unnest a nested path",
         f"SELECT m.message_id, tg::FLOAT AS target\n"
         f"FROM {_M}, m.entities.signal.targets AS tg WHERE {_A} ORDER BY 1, 2",
         [(101, 64000.0), (101, 66500.5), (103, 3100.0), (103, 3200.0), (103, 3300.0),
          (108, 63000.0)],
         ("PartiQL unnest of a nested path",)),
    Case("group the unnested elements",
         f"SELECT tk::VARCHAR AS ticker, COUNT(*) AS mentions,\n"
         f"       COUNT(DISTINCT m.trader_id) AS traders\n"
         f"FROM {_M}, m.entities.tickers AS tk WHERE {_A}\n"
         f"GROUP BY 1 ORDER BY 2 DESC, 1",
         [("BTC", 3, 3), ("ETH", 2, 2), ("SOL", 2, 2), ("DOGE", 1, 1), ("TON", 1, 1)],
         ("PartiQL unnest", "GROUP BY on SUPER")),
    # ---- SUPER functions
    Case("JSON_PARSE and JSON_TYPEOF",
         "SELECT JSON_TYPEOF(JSON_PARSE('{\"a\":1}')) AS o, JSON_TYPEOF(JSON_PARSE('[1]')) AS a,\n"
         "       JSON_TYPEOF(JSON_PARSE('\"x\"')) AS s, JSON_TYPEOF(JSON_PARSE('1.5')) AS n,\n"
         "       JSON_TYPEOF(JSON_PARSE('true')) AS b, JSON_TYPEOF(JSON_PARSE('null')) AS z",
         [("object", "array", "string", "number", "boolean", "null")],
         ("JSON_PARSE", "JSON_TYPEOF")),
    Case("JSON_TYPEOF of stored paths",
         f"SELECT m.message_id, JSON_TYPEOF(m.entities.tickers) AS tickers,\n"
         f"       JSON_TYPEOF(m.entities.signal) AS signal,\n"
         f"       JSON_TYPEOF(m.entities.signal.leverage) AS leverage\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 102, 105) ORDER BY 1",
         [(101, "array", "object", "number"), (102, "array", "null", "null"),
          (105, "array", "null", "null")],
         ("JSON_TYPEOF",)),
    Case("IS_ARRAY, IS_OBJECT, IS_VARCHAR, IS_INTEGER, IS_DECIMAL, IS_BOOLEAN, IS_SCALAR",
         f"SELECT m.message_id, IS_ARRAY(m.entities.tickers) AS arr,\n"
         f"       IS_OBJECT(m.entities.signal) AS obj, IS_VARCHAR(m.entities.signal.side) AS txt,\n"
         f"       IS_INTEGER(m.entities.signal.leverage) AS is_int,\n"
         f"       IS_DECIMAL(m.entities.signal.targets[1]) AS is_dec,\n"
         f'       IS_BOOLEAN(m."raw".message_content_truncated) AS is_bool,\n'
         f"       IS_SCALAR(m.entities.signal.side) AS scalar\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 105) ORDER BY 1",
         [(101, True, True, True, True, True, False, True),
          (105, True, False, False, False, False, True, False)],
         ("IS_ARRAY", "IS_OBJECT", "IS_VARCHAR", "IS_INTEGER", "IS_DECIMAL", "IS_BOOLEAN",
          "IS_SCALAR")),
    Case("GET_ARRAY_LENGTH",
         f"SELECT m.message_id, GET_ARRAY_LENGTH(m.entities.tickers) AS tickers\n"
         f"FROM {_M} WHERE {_A} ORDER BY 1",
         [(101, 1), (102, 0), (103, 1), (104, None), (105, 2), (106, 0), (107, 3), (108, 1),
          (109, None), (110, 1)],
         ("GET_ARRAY_LENGTH",)),
    Case("JSON_SERIALIZE",
         f"SELECT m.message_id, JSON_SERIALIZE(m.entities.signal.targets) AS targets,\n"
         f"       JSON_SERIALIZE(m.entities.tickers) AS tickers\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 105) ORDER BY 1",
         [(101, "[64000,66500.5]", '["BTC"]'), (105, None, '["SOL","TON"]')],
         ("JSON_SERIALIZE",)),
    Case("a SUPER array and object returned as SUPER",
         f"SELECT m.entities.signal.targets AS targets, m.entities.signal AS signal\n"
         f"FROM {_M} WHERE {_A} AND m.message_id = 110",
         [(Json([]), Json({"entry": [0.1234], "side": "long", "symbol": "DOGE",
                           "targets": []}))],
         ("SUPER result",)),
    Case("JSON_EXTRACT_PATH_TEXT",
         f"SELECT m.message_id,\n"
         f"       JSON_EXTRACT_PATH_TEXT(JSON_SERIALIZE(m.\"raw\"), 'source') AS source,\n"
         f"       JSON_EXTRACT_PATH_TEXT(JSON_SERIALIZE(m.\"raw\"), 'nope') AS missing,\n"
         f"       JSON_EXTRACT_PATH_TEXT(m.message_content, 'note', 'lang', TRUE) AS lang\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 110) ORDER BY 1",
         [(101, "fixture", None, None), (110, "fixture", None, "en")],
         ("JSON_EXTRACT_PATH_TEXT",)),
    Case("CAN_JSON_PARSE",
         f"SELECT m.message_id, CAN_JSON_PARSE(m.message_content) AS is_json\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (102, 104, 110) ORDER BY 1",
         [(102, False), (104, False), (110, True)],
         ("CAN_JSON_PARSE",)),
    # ---- dates and times
    Case("DATEDIFF counts date part boundaries",
         f"SELECT m.message_id,\n"
         f"       DATEDIFF(day, m.message_timestamp, m.processing_time) AS days,\n"
         f"       DATEDIFF(hour, m.message_timestamp, m.processing_time) AS hours,\n"
         f"       DATEDIFF(minute, m.message_timestamp, m.processing_time) AS minutes,\n"
         f"       DATEDIFF(second, m.message_timestamp, m.processing_time) AS seconds,\n"
         f"       DATEDIFF(month, m.message_timestamp, m.processing_time) AS months\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 102, 110) ORDER BY 1",
         [(101, 0, 0, 0, 5, 0), (102, 1, 1, 1, 50, 0), (110, 1, 1, 90, 5400, 1)],
         ("DATEDIFF",)),
    Case("DATEDIFF on literals (Redshift's documented examples)",
         "SELECT DATEDIFF(year, '2008-12-31', '2009-01-01') AS years,\n"
         "       DATEDIFF(week, '2009-01-01', '2009-12-31') AS weeks,\n"
         "       DATEDIFF(qtr, '2023-12-31', '2024-01-01') AS quarters,\n"
         "       DATEDIFF(hours, '2009-01-01 08:30:00', '2009-01-01 10:00:00') AS hours",
         [(1, 52, 1, 2)],
         ("DATEDIFF",)),
    Case("DATEADD",
         "SELECT DATEADD(month, 1, '2024-01-31'::DATE) AS month_end,\n"
         "       DATEADD(day, 1, '2024-02-28 10:00:00'::TIMESTAMP) AS leap_day,\n"
         "       DATEADD(hour, -2, '2024-03-01 01:00:00'::TIMESTAMP) AS back",
         [("2024-02-29 00:00:00", "2024-02-29 10:00:00", "2024-02-29 23:00:00")],
         ("DATEADD",)),
    Case("DATE_TRUNC",
         f"SELECT m.message_id, DATE_TRUNC('week', m.message_timestamp) AS week_start,\n"
         f"       DATE_TRUNC('month', m.message_timestamp) AS month_start,\n"
         f"       DATE_TRUNC('day', m.message_timestamp) AS day_start\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (108, 110) ORDER BY 1",
         [(108, "2024-03-04 00:00:00", "2024-03-01 00:00:00", "2024-03-10 00:00:00"),
          (110, "2024-03-25 00:00:00", "2024-03-01 00:00:00", "2024-03-31 00:00:00")],
         ("DATE_TRUNC",)),
    Case("GETDATE and SYSDATE",
         "SELECT GETDATE() > '2024-01-01'::TIMESTAMP AS after_2024,\n"
         "       DATE_TRUNC('day', SYSDATE) <= SYSDATE AS truncates",
         [(True, True)],
         ("GETDATE", "SYSDATE")),
    Case("CONVERT_TIMEZONE, 2- and 3-argument forms",
         "SELECT CONVERT_TIMEZONE('America/New_York', '2013-02-01 08:00:00') AS winter,\n"
         "       CONVERT_TIMEZONE('America/New_York', '2013-06-01 08:00:00') AS summer,\n"
         "       CONVERT_TIMEZONE('EST', 'PST', '2008-03-05 12:25:29') AS abbreviations,\n"
         "       CONVERT_TIMEZONE('PST', '2008-08-24 09:36:12') AS fixed_offset",
         [("2013-02-01 03:00:00", "2013-06-01 04:00:00", "2008-03-05 09:25:29",
           "2008-08-24 01:36:12")],
         ("CONVERT_TIMEZONE",)),
    Case("CONVERT_TIMEZONE of a column across a DST change",
         f"SELECT CONVERT_TIMEZONE('Europe/London', m.message_timestamp) AS london\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (101, 110) ORDER BY m.message_id",
         [("2024-03-01 09:15:00",), ("2024-04-01 00:00:00",)],
         ("CONVERT_TIMEZONE",)),
    # ---- conditionals
    Case("NVL, NVL2, DECODE",
         f"SELECT m.message_id, NVL(m.trader_id, -1) AS trader,\n"
         f"       NVL2(m.reply_message_id, 'reply', 'root') AS kind,\n"
         f"       DECODE(m.chat_link, -1001, 'alpha', -1002, 'beta', 'other') AS chat\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (103, 104, 105) ORDER BY 1",
         [(103, 7, "reply", "alpha"), (104, -1, "root", "beta"), (105, 9, "root", "beta")],
         ("NVL", "NVL2", "DECODE")),
    # ---- aggregates
    Case("LISTAGG with WITHIN GROUP and a delimiter",
         f"SELECT m.chat_link,\n"
         f"       LISTAGG(m.message_id, ',') WITHIN GROUP (ORDER BY m.message_id) AS ids\n"
         f"FROM {_M} WHERE {_A} GROUP BY m.chat_link ORDER BY m.chat_link",
         [(-1002, "104,105,106,109,110"), (-1001, "101,102,103,107,108")],
         ("LISTAGG",)),
    Case("LISTAGG DISTINCT over unnested elements, descending",
         f"SELECT LISTAGG(DISTINCT tk::VARCHAR, '|') WITHIN GROUP (ORDER BY tk::VARCHAR DESC)\n"
         f"FROM {_M}, m.entities.tickers AS tk WHERE {_A}",
         [("TON|SOL|ETH|DOGE|BTC",)],
         ("LISTAGG DISTINCT",)),
    Case("LISTAGG without a delimiter skips NULLs and empty strings",
         f"SELECT LISTAGG(m.message_content) WITHIN GROUP (ORDER BY m.message_id) AS joined\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (102, 104, 106)",
         [("gmping @alice @bob",)],
         ("LISTAGG",)),
    Case("APPROXIMATE COUNT(DISTINCT)",
         f"SELECT APPROXIMATE COUNT(DISTINCT m.trader_id) AS approx,\n"
         f"       COUNT(DISTINCT m.trader_id) AS exact\n"
         f"FROM {_M} WHERE {_A}",
         [(5, 5)],
         ("APPROXIMATE COUNT(DISTINCT)",)),
    # One sort-based aggregate (MEDIAN, LISTAGG, PERCENTILE_CONT) per statement unless
    # they share an ORDER BY: Redshift refuses the mix.
    Case("MEDIAN of an odd count",
         f"SELECT MEDIAN(m.trader_id) AS median FROM {_M} WHERE {_A}",
         [(8.0,)],
         ("MEDIAN",)),
    Case("MEDIAN of an even count interpolates",
         f"SELECT MEDIAN(m.trader_id) AS median FROM {_M}\n"
         f"WHERE {_A} AND m.message_id IN (101, 102)",
         [(7.5,)],
         ("MEDIAN",)),
    Case("SUM and AVG of integers are BIGINT; integer division truncates",
         f"SELECT SUM(m.trader_id) AS total, AVG(m.trader_id) AS mean,\n"
         f"       SUM(m.trader_id::FLOAT) AS float_total, COUNT(*) AS n,\n"
         f"       AVG(CASE WHEN m.message_id IN (101, 102) THEN m.trader_id END) AS mean_7_8\n"
         f"FROM {_M} WHERE {_A}",
         [(76, 8, 76.0, 10, 7)],
         ("SUM(INTEGER)", "AVG(INTEGER)")),
    Case("division and modulo",
         "SELECT 7 / 2 AS int_div, -7 / 2 AS negative, 7 / 2.0 AS decimal_div, 7 % 3 AS modulo",
         [(3, -3, 3.5, 1)],
         ("integer division",)),
    # ---- window functions
    Case("ROW_NUMBER, RANK, LAG, LEAD, SUM OVER a frame",
         f"SELECT m.message_id,\n"
         f"       ROW_NUMBER() OVER (PARTITION BY m.chat_link\n"
         f"                          ORDER BY m.message_timestamp) AS rn,\n"
         f"       RANK() OVER (ORDER BY m.trader_id) AS trader_rank,\n"
         f"       LAG(m.message_id) OVER (PARTITION BY m.chat_link\n"
         f"                               ORDER BY m.message_id) AS prev,\n"
         # r_WF_LEAD.html: LEAD (value_expr [, offset ]) takes no default value.
         f"       LEAD(m.message_id, 1) OVER (PARTITION BY m.chat_link\n"
         f"                                   ORDER BY m.message_id) AS next,\n"
         f"       SUM(m.trader_id) OVER (PARTITION BY m.chat_link ORDER BY m.message_id\n"
         f"                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)\n"
         f"           AS running\n"
         f"FROM {_M} WHERE {_A} ORDER BY m.message_id",
         [(101, 1, 1, None, 102, 7), (102, 2, 4, 101, 103, 15), (103, 3, 1, 102, 107, 22),
          (104, 1, 10, None, 105, None), (105, 2, 6, 104, 106, 9), (106, 3, 6, 105, 109, 18),
          (107, 4, 4, 103, 108, 30), (108, 5, 8, 107, None, 40), (109, 4, 9, 106, 110, 29),
          (110, 5, 1, 109, None, 36)],
         ("ROW_NUMBER", "RANK", "LAG", "LEAD", "SUM OVER frame", "NULL ordering")),
    Case("a moving frame",
         f"SELECT m.message_id,\n"
         f"       SUM(m.trader_id) OVER (ORDER BY m.message_id\n"
         f"                              ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair\n"
         f"FROM {_M} WHERE {_A} AND m.chat_link = -1001 ORDER BY 1",
         [(101, 7), (102, 15), (103, 15), (107, 15), (108, 18)],
         ("SUM OVER frame",)),
    # ---- ordering, CTEs, views
    Case("NULLs sort last ascending",
         f"SELECT m.message_id, m.trader_id FROM {_M}\n"
         f"WHERE {_A} AND m.chat_link = -1002 ORDER BY m.trader_id, m.message_id",
         [(110, 7), (105, 9), (106, 9), (109, 11), (104, None)],
         ("NULL ordering",)),
    Case("NULLs sort first descending",
         f"SELECT m.message_id, m.trader_id FROM {_M}\n"
         f"WHERE {_A} AND m.chat_link = -1002 ORDER BY m.trader_id DESC, m.message_id",
         [(104, None), (109, 11), (105, 9), (106, 9), (110, 7)],
         ("NULL ordering",)),
    Case("a CTE",
         f"WITH per_trader AS (\n"
         f"    SELECT m.trader_id, COUNT(*) AS messages FROM {_M} WHERE {_A}\n"
         f"    GROUP BY m.trader_id\n"
         f")\n"
         f"SELECT trader_id, messages FROM per_trader WHERE messages > 1 ORDER BY trader_id",
         [(7, 3), (8, 2), (9, 2)],
         ("CTE",)),
    Case("the dedup view keeps the newest observation",
         "SELECT (SELECT COUNT(*) FROM {schema}.telegram_messages) AS observations,\n"
         "       (SELECT COUNT(*) FROM {schema}.telegram_messages_latest) AS messages,\n"
         "       (SELECT batch_id FROM {schema}.telegram_messages_latest\n"
         "        WHERE message_id = 103) AS kept_batch",
         [(11, 10, "fixture-b")],
         ("view", "ROW_NUMBER")),
    # ---- text
    Case("string functions count characters, OCTET_LENGTH bytes",
         f"SELECT m.message_id, LEN(m.message_content) AS chars,\n"
         f"       OCTET_LENGTH(m.message_content) AS bytes,\n"
         f"       STRPOS(m.message_content, '$') AS dollar_at,\n"
         f"       SUBSTRING(m.message_content, 8, 1) AS eighth,\n"
         f"       UPPER(LEFT(m.message_content, 4)) AS head,\n"
         f"       SPLIT_PART(m.message_content, ' ', 2) AS second_word,\n"
         f"       TRIM(m.message_content) || '!' AS shout\n"
         f"FROM {_M} WHERE {_A} AND m.message_id IN (104, 105, 106) ORDER BY 1",
         [(104, 0, 0, 0, "", "", "", "!"),
          (105, 43, 63, 10, "🚀", "ПРИВ", "🚀", "Привет 🚀 $SOL/USDT и $TON — смотрите t.me/x!"),
          (106, 16, 16, 0, "l", "PING", "@alice", "ping @alice @bob!")],
         ("LEN", "OCTET_LENGTH", "STRPOS", "SUBSTRING", "UPPER", "LEFT", "SPLIT_PART", "TRIM",
          "||", "Unicode")),
    Case("text functions on a SUPER string",
         f"SELECT LEN(tk) AS chars, LOWER(tk) AS lowered, tk || '/USDT' AS pair\n"
         f"FROM {_M}, m.entities.tickers AS tk WHERE {_A} AND m.message_id = 105 ORDER BY 3",
         [(3, "sol", "SOL/USDT"), (3, "ton", "TON/USDT")],
         ("string functions on SUPER",)),
]
