#!/usr/bin/env python3
"""filter_pattern.py: an evaluator of CloudWatch Logs JSON filter patterns, for tests.

CloudWatch Logs evaluates metric filters server-side and neither moto nor any local tool does it
for JSON patterns, so this module implements the documented syntax ("Filter and pattern syntax",
Amazon CloudWatch Logs User Guide, section "Matching terms in JSON log events") to check our
metric filters against sample events offline:

    { SELECTOR = STRING }      { SELECTOR != STRING }     STRING quoted or bare; '*' at the
                                                           start and/or end is a wildcard, '*'
                                                           alone matches any value
    { SELECTOR op NUMBER }     op: = != < > <= >=          integer, decimal or scientific
    { SELECTOR IS TRUE }  { SELECTOR IS FALSE }  { SELECTOR IS NULL }  { SELECTOR NOT EXISTS }
    ( ... )  &&  ||            precedence: () > && > ||
    SELECTOR: $.a.b, $.a[0], $.a[0].b, $.a[0][1]; names of letters, digits, '-' and '_'

Semantics taken from the documentation, and chosen conservatively where it is silent:
- A comparison whose selector does not reach a value node (missing, an object, an array) is
  false, for '!=' as well ("both {$.users = 1} and {$.users != 1} fail to match" an array).
- A string comparison against a number compares the number's JSON text (so '= 12*' matches 123);
  against true, false or null it is false.
- A numeric comparison against a string that is not a number is false; '=' / '!=' against a string
  compare the text.
- IS TRUE / IS FALSE match only JSON booleans; IS NULL only an explicit null; NOT EXISTS only a
  missing selector.
- A message that is not a JSON object never matches a JSON pattern.
- Keywords are upper case, as documented; anything the grammar does not allow is a
  FilterSyntaxError, so a typo in a template fails the test instead of silently never matching.

Usage as a tool:
    filter_pattern.py PATTERN < events.ndjson      print the matching lines
    filter_pattern.py --self-test                  run the documentation's own examples
"""

import json
import re
import sys


class FilterSyntaxError(ValueError):
    pass


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<and>&&)
  | (?P<or>\|\|)
  | (?P<op>!=|<=|>=|=|<|>)
  | (?P<lpar>\()
  | (?P<rpar>\))
  | (?P<lbrace>\{)
  | (?P<rbrace>\})
  | (?P<selector>\$(?:\.[A-Za-z0-9_\-]+|\[[0-9]+\])+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<bare>[^\s()&|{}"=!<>]+)
    """,
    re.VERBOSE,
)

_NUMBER_RE = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_MISSING = object()


def _tokenize(text):
    pos = 0
    out = []
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise FilterSyntaxError(f"unexpected character at {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, kind=None):
        tok = self.peek()
        if tok[0] is None or (kind is not None and tok[0] != kind):
            raise FilterSyntaxError(f"expected {kind or 'a token'}, got {tok[1]!r}")
        self.i += 1
        return tok

    def parse_pattern(self):
        self.take("lbrace")
        expr = self.parse_or()
        self.take("rbrace")
        if self.peek()[0] is not None:
            raise FilterSyntaxError(f"text after the closing brace: {self.peek()[1]!r}")
        return expr

    def parse_or(self):
        terms = [self.parse_and()]
        while self.peek()[0] == "or":
            self.take()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else ("or", terms)

    def parse_and(self):
        terms = [self.parse_unary()]
        while self.peek()[0] == "and":
            self.take()
            terms.append(self.parse_unary())
        return terms[0] if len(terms) == 1 else ("and", terms)

    def parse_unary(self):
        if self.peek()[0] == "lpar":
            self.take()
            expr = self.parse_or()
            self.take("rpar")
            return expr
        return self.parse_condition()

    def parse_condition(self):
        _, selector = self.take("selector")
        path = _parse_selector(selector)
        kind, text = self.peek()
        if kind == "bare" and text == "IS":
            self.take()
            _, what = self.take("bare")
            if what not in ("TRUE", "FALSE", "NULL"):
                raise FilterSyntaxError(f"IS must be followed by TRUE, FALSE or NULL, not {what!r}")
            return ("is", path, what)
        if kind == "bare" and text == "NOT":
            self.take()
            _, what = self.take("bare")
            if what != "EXISTS":
                raise FilterSyntaxError(f"NOT must be followed by EXISTS, not {what!r}")
            return ("not_exists", path)
        _, op = self.take("op")
        kind, text = self.take()
        if kind == "string":
            return ("cmp", path, op, ("string", json.loads(text)))
        if kind != "bare":
            raise FilterSyntaxError(f"expected a value after {op}, got {text!r}")
        if _NUMBER_RE.match(text):
            return ("cmp", path, op, ("number", float(text), text))
        if op not in ("=", "!="):
            raise FilterSyntaxError(f"{op} needs a number, got {text!r}")
        return ("cmp", path, op, ("string", text))


def _parse_selector(text):
    path = []
    for m in re.finditer(r"\.([A-Za-z0-9_\-]+)|\[([0-9]+)\]", text[1:]):
        path.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
    if not path or not isinstance(path[0], str):
        raise FilterSyntaxError(f"a selector starts with $.name: {text!r}")
    return path


def compile_pattern(pattern):
    """Parse a JSON filter pattern into a tree; raises FilterSyntaxError."""
    return _Parser(_tokenize(pattern.strip())).parse_pattern()


def _resolve(doc, path):
    cur = doc
    for step in path:
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return _MISSING
            cur = cur[step]
        else:
            if not isinstance(cur, dict) or step not in cur:
                return _MISSING
            cur = cur[step]
    return cur


def _wildcard(want, have):
    if want == "*":
        return True
    lead, trail = want.startswith("*"), want.endswith("*")
    core = want[1 if lead else 0:len(want) - 1 if trail else len(want)]
    if lead and trail:
        return core in have
    if lead:
        return have.endswith(core)
    if trail:
        return have.startswith(core)
    return have == want


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number_text(v):
    return json.dumps(v)


def _compare(value, op, rhs):
    if value is _MISSING or value is None or isinstance(value, (bool, dict, list)):
        return False
    if rhs[0] == "string":
        if op not in ("=", "!="):
            return False
        have = _number_text(value) if _is_number(value) else value
        hit = _wildcard(rhs[1], have)
        return hit if op == "=" else not hit
    number, literal = rhs[1], rhs[2]
    if isinstance(value, str):
        if op == "=":
            return value == literal
        if op == "!=":
            return value != literal
        return False
    ops = {
        "=": value == number,
        "!=": value != number,
        "<": value < number,
        ">": value > number,
        "<=": value <= number,
        ">=": value >= number,
    }
    return ops[op]


def _eval(node, doc):
    kind = node[0]
    if kind == "or":
        return any(_eval(n, doc) for n in node[1])
    if kind == "and":
        return all(_eval(n, doc) for n in node[1])
    if kind == "is":
        value = _resolve(doc, node[1])
        if node[2] == "TRUE":
            return value is True
        if node[2] == "FALSE":
            return value is False
        return value is None
    if kind == "not_exists":
        return _resolve(doc, node[1]) is _MISSING
    return _compare(_resolve(doc, node[1]), node[2], node[3])


def matches(pattern, message):
    """True when the CloudWatch event `message` (a string) matches the JSON filter `pattern`."""
    tree = compile_pattern(pattern) if isinstance(pattern, str) else pattern
    try:
        doc = json.loads(message)
    except ValueError:
        return False
    if not isinstance(doc, dict):
        return False
    return _eval(tree, doc)


# The documentation's own examples (Filter and pattern syntax, JSON section), with its verdicts.
_DOC_EVENT_1 = {
    "eventType": "UpdateTrail",
    "sourceIPAddress": "111.111.111.111",
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "SomeObject": None,
    "ThisFlag": True,
}
_DOC_EVENT_2 = {
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
}
_SELF_TESTS = [
    (_DOC_EVENT_1, '{ $.eventType = "UpdateTrail" }', True),
    (_DOC_EVENT_1, "{ $.sourceIPAddress != 123.123.* }", True),
    (_DOC_EVENT_1, "{ $.sourceIPAddress = 111.111.* }", True),
    (_DOC_EVENT_1, '{ $.arrayKey[0] = "value" }', True),
    (_DOC_EVENT_1, '{ $.eventType[0] = "value" }', False),
    (_DOC_EVENT_1, "{ $.objectList[1].id = 2 }", True),
    (_DOC_EVENT_1, "{ $.SomeObject IS NULL }", True),
    (_DOC_EVENT_1, "{ $.ThisFlag IS NULL }", False),
    (_DOC_EVENT_1, "{ $.SomeOtherObject NOT EXISTS }", True),
    (_DOC_EVENT_1, "{ $.SomeObject NOT EXISTS }", False),
    (_DOC_EVENT_1, "{ $.ThisFlag IS TRUE }", True),
    (_DOC_EVENT_1, "{ $.ThisFlag IS FALSE }", False),
    (_DOC_EVENT_1, "{ $.eventType = *Trail }", True),
    (_DOC_EVENT_1, "{ $.eventType = Update* }", True),
    (_DOC_EVENT_1, "{ $.eventType = Up*Trail }", False),
    (_DOC_EVENT_1, "{ $.eventType = * }", True),
    (_DOC_EVENT_1, "{ $.missing = * }", False),
    (_DOC_EVENT_1, "{ $.missing != x }", False),
    (_DOC_EVENT_2, '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
    (_DOC_EVENT_2, '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
    (_DOC_EVENT_2,
     '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && '
     "$.actions[2] = nomatch }", True),
    (_DOC_EVENT_2,
     '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && '
     "$.actions[2] = nomatch }", False),
    (_DOC_EVENT_2, "{ $.coordinates[0][1] = 1 }", True),
    (_DOC_EVENT_2, "{ $.users = 1 }", False),
    (_DOC_EVENT_2, "{ $.users != 1 }", False),
    ({"latency": 600}, "{ $.latency >= 500 }", True),
    ({"latency": 400}, "{ $.latency >= 500 }", False),
    ({"numbers": [5]}, "{ $.numbers[0] < 10e3 }", True),
    ({"numbers": [5]}, "{ $.numbers[0] < 10e-3 }", False),
    ({"processes": [0, 0, 0, 0, {"averageRuntime": 55.5}]}, "{ $.processes[4].averageRuntime <= 55.5 }", True),
    ({"errorCode": 400}, "{ $.errorCode = 400 }", True),
    ({"errorCode": 400}, "{ $.errorCode != 500 }", True),
    ({"latency": 1001}, "{ $.latency > +1000 }", True),
    ({"someInt": 123}, "{ $.someInt = 12* }", True),
    ({"someInt": 123}, "{ $.someInt != 3* }", True),
    ({"flag": True}, "{ $.flag = 1 }", False),
    ({"foo": "bar"}, "{$.foo = bar || $.foo = baz }", True),
    ({"foo": "qux"}, "{$.foo = bar || $.foo = baz }", False),
]
_BAD_PATTERNS = [
    "$.a = 1",
    "{ $.a = 1",
    "{ $.a IS MAYBE }",
    "{ $.a NOT THERE }",
    "{ $.a > abc }",
    "{ a = 1 }",
    "{ $.a = 1 } extra",
    "{ ($.a = 1 }",
    "{ $.a = 1 && }",
    "{ $[0] = 1 }",
]


def self_test():
    failures = 0
    for doc, pattern, want in _SELF_TESTS:
        got = matches(pattern, json.dumps(doc))
        if got != want:
            print(f"FAIL: {pattern} on {json.dumps(doc)[:60]}: got {got}, want {want}")
            failures += 1
    for pattern in _BAD_PATTERNS:
        try:
            compile_pattern(pattern)
        except FilterSyntaxError:
            continue
        print(f"FAIL: accepted the invalid pattern {pattern!r}")
        failures += 1
    if matches("{ $.a = 1 }", "not json") or matches("{ $.a = 1 }", "[1]"):
        print("FAIL: a non-object message matched")
        failures += 1
    total = len(_SELF_TESTS) + len(_BAD_PATTERNS) + 1
    print(f"filter_pattern self-test: {total - failures} passed, {failures} failed")
    return failures == 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return 0 if self_test() else 1
    if len(argv) != 2:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    tree = compile_pattern(argv[1])
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line and matches(tree, line):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
