"""Text, regular-expression and JSON-text functions as the guide documents them.

Tree rules (see `TREE_RULES`): OCTET_LENGTH, CONCAT, SIMILAR TO, SUBSTRING before
position 1, REGEXP_REPLACE / REGEXP_SUBSTR with every parameter, and the JSON text
functions (IS_VALID_JSON, IS_VALID_JSON_ARRAY, JSON_ARRAY_LENGTH,
JSON_EXTRACT_ARRAY_ELEMENT_TEXT).
"""

from __future__ import annotations

import re

from sqlglot import exp

from pipeline.aws.settings import RESERVED_WORDS
from pipeline.offline.warehouse.translate.errors import (
    RedshiftSqlError,
    SqlSyntaxError,
    UnsupportedSqlError,
)
from pipeline.offline.warehouse.translate.trees import call_name, fill, post_order


def octet_length_of_text(tree: exp.Expr) -> exp.Expr:
    """`OCTET_LENGTH(text)` -> `STRLEN(text)`: DuckDB's octet_length takes only BLOB."""

    def rule(node: exp.Expr) -> exp.Expr:
        if call_name(node) == "OCTET_LENGTH" and len(node.expressions) == 1:
            return exp.Anonymous(this="STRLEN", expressions=node.expressions)
        return node

    return tree.transform(rule)


# ---- text functions as Redshift documents them


_QUOTE_IDENT = (
    "CASE WHEN regexp_full_match(__s__, '[a-z_][a-z0-9_]*') AND NOT list_contains([{reserved}], "
    "__s__) THEN __s__ ELSE '\"' || replace(__s__, '\"', '\"\"') || '\"' END"
)
_QUOTE_LITERAL = r"'''' || replace(replace(__s__, '\', '\\'), '''', '''''') || ''''"


def quote_functions(tree: exp.Expr) -> exp.Expr:
    """`QUOTE_IDENT(s)` and `QUOTE_LITERAL(s)` as the pages write them.

    https://docs.aws.amazon.com/redshift/latest/dg/r_QUOTE_IDENT.html: double quotes "only
    where necessary to create a valid identifier, when the string contains non-identifier
    characters or would otherwise be folded to lowercase", embedded double quotes doubled.
    A name needs none when it is a lower-case letter or underscore followed by lower-case
    letters, digits and underscores (PostgreSQL's test, which Redshift's descends from) and
    is not a reserved word (r_pg_keywords.html, `RESERVED_WORDS`): 'venue' stays venue,
    'MLB' is "MLB", 'my col' is "my col".
    https://docs.aws.amazon.com/redshift/latest/dg/r_QUOTE_LITERAL.html: in single quotes,
    doubling "any embedded single quotation marks and backslashes"; a number is quoted as
    its text (the argument is text in the registry, so the parser casts it). A NULL
    argument gives NULL.
    """
    quote_ident = _QUOTE_IDENT.format(
        reserved=", ".join(f"'{word}'" for word in sorted(RESERVED_WORDS)))

    def rule(node: exp.Expr) -> exp.Expr:
        name = call_name(node)
        if name not in ("QUOTE_IDENT", "QUOTE_LITERAL") or len(node.expressions) != 1:
            return node
        sql = quote_ident if name == "QUOTE_IDENT" else _QUOTE_LITERAL
        return exp.Paren(this=fill(sql, s=node.expressions[0]))

    return post_order(tree, rule)


def concat_null_is_null(tree: exp.Expr) -> exp.Expr:
    """`CONCAT(a, b)` -> `a || b`: NULL when either is NULL.

    https://docs.aws.amazon.com/redshift/latest/dg/r_CONCAT.html (DuckDB's CONCAT
    skips NULLs, so `CONCAT('a', NULL)` would be 'a').
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Concat):
            args = node.expressions
            return exp.Paren(this=exp.DPipe(this=args[0], expression=args[1], safe=False))
        return node

    return tree.transform(rule)


# SIMILAR TO metacharacters that are also POSIX regex ones and mean the same.
_SIMILAR_KEEP = frozenset("|*+?{}()[],-0123456789^")


def _similar_to_regex(pattern: str) -> str:
    out, i = [], 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):  # the default escape character
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if in_class:
            out.append(ch)
            in_class = ch != "]"
        elif ch == "%":
            out.append("(?s:.*)")
        elif ch == "_":
            out.append("(?s:.)")
        elif ch == "[":
            out.append(ch)
            in_class = True
        elif ch in _SIMILAR_KEEP and ch != "^":
            out.append(ch)
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def similar_to_as_regex(tree: exp.Expr) -> exp.Expr:
    """`s SIMILAR TO 'pattern'` -> `regexp_full_match(s, regex)`, matching the whole string.

    `%` and `_` become `.*` and `.`; `|`, `*`, `+`, `?`, `{m,n}`, `()` and `[...]`
    keep their meaning; anything else is literal
    (https://docs.aws.amazon.com/redshift/latest/dg/pattern-matching-conditions-similar-to.html).
    DuckDB's own SIMILAR TO reads the pattern as a regex, so `'abc' SIMILAR TO 'a%'`
    never matches. The pattern must be a literal.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.SimilarTo):
            return node
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise UnsupportedSqlError("SIMILAR TO with a computed pattern")
        return exp.Anonymous(this="regexp_full_match", expressions=[
            node.this, exp.Literal.string(_similar_to_regex(pattern.this))])

    return tree.transform(rule)


def substring_before_position_one(tree: exp.Expr) -> exp.Expr:
    """`SUBSTRING(s, start, n)` with start < 1: the characters from `start` to `start + n - 1`
    that exist, so `SUBSTRING('abcdef', -2, 4)` is 'a'
    (https://docs.aws.amazon.com/redshift/latest/dg/r_SUBSTRING.html); DuckDB counts a
    negative start from the end of the string ('ef'). A negative length is an error
    wherever the start is ("This number cannot be negative"), checked first.
    """
    template = ("CASE WHEN __n__ < 0 THEN error('invalid input: negative substring length not "
                "allowed') WHEN __p__ >= 1 THEN SUBSTRING(__s__, __p__, __n__) "
                "ELSE SUBSTRING(__s__, 1, GREATEST(__p__ + __n__ - 1, 0)) END")
    two_args = "CASE WHEN __p__ >= 1 THEN SUBSTRING(__s__, __p__) ELSE __s__ END"

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Substring) or node.args.get("start") is None:
            return node
        start, length = node.args["start"], node.args.get("length")
        if isinstance(start, exp.Literal) and start.is_int and int(start.this) >= 1 and (
            length is None or (isinstance(length, exp.Literal) and length.is_int)
        ):
            return node
        if length is None:
            return exp.Paren(this=fill(two_args, s=node.this, p=start))
        return exp.Paren(this=fill(template, s=node.this, p=start, n=length))

    return post_order(tree, rule)


def chr_ascii_only(tree: exp.Expr) -> exp.Expr:
    """`CHR(n)` is NULL outside the ASCII code points 0-127.

    https://docs.aws.amazon.com/redshift/latest/dg/r_CHR.html: "If the input number has no
    ASCII match, the function returns null"; DuckDB's chr answers any Unicode code point
    (CHR(200) is 'È').
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Chr) or len(node.expressions) != 1:
            return node
        return exp.Paren(this=fill("CASE WHEN __n__ BETWEEN 0 AND 127 THEN chr(__n__) END",
                                   n=node.expressions[0]))

    return post_order(tree, rule)


def nullif_ignores_trailing_blanks(tree: exp.Expr) -> exp.Expr:
    """`NULLIF(x, 'a ')` as `CASE WHEN x = 'a ' THEN NULL ELSE x END`, so that the equality
    is the one `comparisons_ignore_trailing_blanks` gives every comparison with a string
    literal.

    https://docs.aws.amazon.com/redshift/latest/dg/r_NULLIF_function.html: "NULLIF ignores
    trailing spaces" (NULLIF('a', 'a ') is NULL); DuckDB's NULLIF compares them. Only a
    call with a string-literal side is rewritten (the rule that follows reads literals);
    the result keeps the first argument's type, as the page says.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Nullif):
            return node
        first, second = node.this, node.expression
        if not any(isinstance(s, exp.Literal) and s.is_string for s in (first, second)):
            return node
        return exp.Paren(this=exp.Case(
            ifs=[exp.If(this=exp.EQ(this=first.copy(), expression=second.copy()),
                        true=exp.Null())],
            default=first.copy()))

    return post_order(tree, rule)


def _regex_flags(parameters: exp.Expr | None, allowed: str) -> str:
    if parameters is None:
        return ""
    if not (isinstance(parameters, exp.Literal) and parameters.is_string):
        raise UnsupportedSqlError("regular expression parameters that are not a literal")
    flags = parameters.this
    if "p" in flags:
        raise UnsupportedSqlError("regular expression parameter 'p' (PCRE dialect)")
    unknown = set(flags) - set(allowed)
    if unknown:
        raise RedshiftSqlError(f"invalid regular expression parameter '{''.join(sorted(unknown))}'")
    # the last of c/i wins, as in POSIX flag strings
    case = [f for f in flags if f in "ci"]
    return "i" if case and case[-1] == "i" else ""


def _literal_int(node: exp.Expr | None, what: str, default: int) -> int:
    if node is None:
        return default
    inner = node.this if isinstance(node, exp.Neg) else node
    if not (isinstance(inner, exp.Literal) and inner.is_int):
        raise UnsupportedSqlError(f"{what} that is not an integer literal")
    return -int(inner.this) if isinstance(node, exp.Neg) else int(inner.this)


def regexp_replace_every_match(tree: exp.Expr) -> exp.Expr:
    """`REGEXP_REPLACE(s, pattern[, replacement[, position[, parameters]]])` replaces every
    match (https://docs.aws.amazon.com/redshift/latest/dg/REGEXP_REPLACE.html); DuckDB's
    regexp_replace replaces only the first unless given the 'g' option. The replacement
    defaults to ''; a position after the first character keeps the text before it.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.RegexpReplace):
            return node
        if node.args.get("occurrence") is not None:
            raise UnsupportedSqlError("REGEXP_REPLACE with an occurrence argument")
        flags = "g" + _regex_flags(node.args.get("modifiers"), "ci")
        replacement = node.args.get("replacement") or exp.Literal.string("")
        if isinstance(replacement, exp.Literal) and re.search(r"[\\$]", replacement.this):
            raise UnsupportedSqlError("REGEXP_REPLACE replacement with back-references")
        position = _literal_int(node.args.get("position"), "REGEXP_REPLACE position", 1)
        call = exp.Anonymous(this="regexp_replace", expressions=[
            node.this, node.expression, replacement, exp.Literal.string(flags)])
        if position <= 1:
            return call
        call.expressions[0].replace(fill("SUBSTRING(__s__, __p__)", s=node.this.copy(),
                                          p=exp.Literal.number(position)))
        return exp.Paren(this=fill("LEFT(__s__, __k__) || __r__", s=node.this,
                                    k=exp.Literal.number(position - 1), r=call))

    return post_order(tree, rule)


def regexp_substr_parameters(tree: exp.Expr) -> exp.Expr:
    """`REGEXP_SUBSTR(s, pattern[, position[, occurrence[, parameters]]])` with every argument
    (https://docs.aws.amazon.com/redshift/latest/dg/REGEXP_SUBSTR.html): the search starts
    at `position`, skips `occurrence - 1` matches, 'i' matches case-insensitively and 'e'
    returns the first subexpression. No match is ''; an occurrence below 1 is NULL.
    sqlglot alone drops position and occurrence.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.RegexpExtract):
            return node
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise UnsupportedSqlError("REGEXP_SUBSTR with a computed pattern")
        params = node.args.get("parameters")
        flags = _regex_flags(params, "cie")
        text = pattern.this
        if flags:
            text = f"(?{flags})" + text
        has_group = bool(re.search(r"(?<!\\)\((?!\?)", pattern.this))
        group = 1 if params is not None and "e" in params.this and has_group else 0
        position = max(_literal_int(node.args.get("position"), "REGEXP_SUBSTR position", 1), 1)
        occurrence = _literal_int(node.args.get("occurrence"), "REGEXP_SUBSTR occurrence", 1)
        if occurrence < 1:
            return exp.cast(exp.Null(), exp.DType.VARCHAR)
        sql = (f"COALESCE(list_extract(regexp_extract_all(SUBSTRING(__s__, {position}), "
               f"__p__, {group}), {occurrence}), '')")
        return exp.Paren(this=fill(sql, s=node.this, p=exp.Literal.string(text)))

    return post_order(tree, rule)


def regexp_instr_parameters(tree: exp.Expr) -> exp.Expr:
    """`REGEXP_INSTR(s, pattern[, position[, occurrence[, option[, parameters]]]])` as
    https://docs.aws.amazon.com/redshift/latest/dg/REGEXP_INSTR.html states it: a
    position below 1 searches from the first character, an occurrence below 1 gives 0,
    a nonzero option is 1 (the position after the match), 'i' matches
    case-insensitively and 'c' is the default. sqlglot renders the search; 'e' (the
    first subexpression's position) and 'p' (PCRE) are refused by name.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.RegexpInstr):
            return node
        params = node.args.get("parameters")
        flags = _regex_flags(params, "cie")
        if params is not None and "e" in params.this:
            raise UnsupportedSqlError("REGEXP_INSTR parameter 'e' (subexpression position)")
        position = max(_literal_int(node.args.get("position"), "REGEXP_INSTR position", 1), 1)
        occurrence = _literal_int(node.args.get("occurrence"), "REGEXP_INSTR occurrence", 1)
        option = _literal_int(node.args.get("option"), "REGEXP_INSTR option", 0)
        if occurrence < 1:
            return exp.Paren(this=fill("CASE WHEN __s__ IS NULL THEN NULL ELSE 0 END",
                                       s=node.this))
        pattern = node.expression
        if flags:
            if not (isinstance(pattern, exp.Literal) and pattern.is_string):
                raise UnsupportedSqlError("REGEXP_INSTR with a computed pattern and parameters")
            pattern = exp.Literal.string(f"(?{flags})" + pattern.this)
        return exp.RegexpInstr(
            this=node.this, expression=pattern, position=exp.Literal.number(position),
            occurrence=exp.Literal.number(occurrence),
            option=exp.Literal.number(1 if option else 0))

    return post_order(tree, rule)


_STRICT_JSON_VALID = (
    "(json_valid(__s__) AND NOT regexp_matches(regexp_replace(__s__, "
    "'\"(\\\\.|[^\"\\\\])*\"', '\"\"', 'g'), ',\\s*[\\]}]'))"
)


def json_text_functions(tree: exp.Expr) -> exp.Expr:
    """IS_VALID_JSON, IS_VALID_JSON_ARRAY, JSON_ARRAY_LENGTH, JSON_EXTRACT_ARRAY_ELEMENT_TEXT.

    - IS_VALID_JSON(s): true for a well-formed JSON object
      (https://docs.aws.amazon.com/redshift/latest/dg/IS_VALID_JSON.html); the page
      sends arrays to IS_VALID_JSON_ARRAY without saying what IS_VALID_JSON answers for
      one, so a JSON array (or scalar) is refused at run time rather than guessed;
    - IS_VALID_JSON_ARRAY(s): true for a well-formed JSON array, false otherwise;
    - JSON_ARRAY_LENGTH(s[, null_if_invalid]): elements of the outer array;
    - JSON_EXTRACT_ARRAY_ELEMENT_TEXT(s, pos[, null_if_invalid]): the element at the
      0-based `pos` as text; '' when pos is negative or out of bounds; invalid JSON
      fails (NULL with null_if_invalid true).
    """
    templates = {
        "IS_VALID_JSON": (
            f"CASE WHEN NOT COALESCE({_STRICT_JSON_VALID}, FALSE) THEN FALSE "
            "WHEN json_type(CAST(__s__ AS JSON)) = 'OBJECT' THEN TRUE "
            "ELSE error('unsupported on the embedded warehouse: IS_VALID_JSON of JSON that "
            "is not an object (the documentation does not say; use IS_VALID_JSON_ARRAY)') END"),
        "IS_VALID_JSON_ARRAY": (f"CASE WHEN NOT COALESCE({_STRICT_JSON_VALID}, FALSE) THEN FALSE "
                                "ELSE json_type(CAST(__s__ AS JSON)) = 'ARRAY' END"),
    }
    invalid = "error('invalid json array object ' || __s__)"

    def rule(node: exp.Expr) -> exp.Expr:
        name = call_name(node)
        args = node.expressions if name else []
        if name in templates:
            return exp.Paren(this=fill(templates[name], s=args[0]))
        if name in {"JSON_ARRAY_LENGTH", "JSON_EXTRACT_ARRAY_ELEMENT_TEXT"}:
            wants = 1 if name == "JSON_ARRAY_LENGTH" else 2
            null_if_invalid = False
            if len(args) == wants + 1:
                flag = args[-1]
                if not isinstance(flag, exp.Boolean):
                    raise UnsupportedSqlError(f"{name} with a computed null_if_invalid")
                null_if_invalid = bool(flag.this)
                args = args[:-1]
            if len(args) != wants:
                raise SqlSyntaxError(message=f"wrong number of arguments to {name.lower()}")
            on_invalid = "NULL" if null_if_invalid else invalid
            if name == "JSON_ARRAY_LENGTH":
                value = ("CASE WHEN json_type(CAST(__s__ AS JSON)) = 'ARRAY' THEN "
                         "CAST(json_array_length(CAST(__s__ AS JSON)) AS INTEGER) "
                         f"ELSE {invalid} END")
            else:
                value = ("CASE WHEN json_type(CAST(__s__ AS JSON)) <> 'ARRAY' THEN "
                         f"{invalid} WHEN __p__ < 0 THEN '' ELSE COALESCE("
                         "json_extract_string(CAST(__s__ AS JSON), "
                         "concat('$[', CAST(__p__ AS VARCHAR), ']')), '') END")
            sql = (f"CASE WHEN __s__ IS NULL THEN NULL WHEN NOT {_STRICT_JSON_VALID} "
                   f"THEN {on_invalid} ELSE {value} END")
            parts = {"s": args[0]}
            if wants == 2:
                parts["p"] = args[1]
            return exp.Paren(this=fill(sql, **parts))
        return node

    return post_order(tree, rule)
