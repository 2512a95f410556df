"""Operations named by a parameter's value: one URL, many operations (`/api.php?action=query&list=allpages`, a
form POST's `Action=DescribeInstances`). Each operation is an interaction of its own: the rules' `operations`
say which query, form and multipart parameters name one, and what a value that names one looks like.

A value is data, never an operation, when it does not look like an operation's name (free text, a number), when
a path detector takes it for an id (a uuid, `user54`), or when its parameter has shown more than `max_values`
distinct values in the recording: then every value of it is data, and the interactions it told apart merge
again when the pact is built (recorder.infer.collapse.operations_as_data).

    names = OperationNames(ruleset)
    exchange = names.annotate(exchange)  # once per exchange, after redaction: Exchange.operation_params
    names.of(exchange)                   # (("query", "action", "query"), ("query", "list", "allpages"))
    named_operation(names.of(exchange))  # 'action=query list=allpages'

The states read Exchange.operation_params too (through recorder.values.request_operation): a call that names its
operation is an RPC, whose URL is no resource, and the operation's name is no value a state gives.
"""

from __future__ import annotations

import re
from dataclasses import replace

from recorder.model import Exchange
from recorder.rules import MethodOverride, Ruleset
from recorder.values import form_values, method_meant, multipart_values

Named = tuple[tuple[str, str, str], ...]  # (query | form | multipart, the parameter as sent, its value)


class OperationNames:
    def __init__(self, rules: Ruleset):
        self.params, self.most = rules.operations.params, rules.operations.max_values
        self.word = re.compile(rules.operations.values)
        self.ids = [re.compile(d.test) for d in rules.detectors]
        self.seen: dict[str, set[str]] = {}  # parameter (lower case) -> its distinct values, up to most + 1
        self.selecting = any(rule.operation for rule in rules.select)  # a select rule asks for the operation
        # headers that name the operation (SOAPAction, X-Amz-Target): interactions tell operations apart by them
        # already (recorder.infer.headers); the states read them here
        self.headers = frozenset(
            h for r in rules.headers if r.action == "operation" and r.side in ("request", "both") for h in r.headers
        )

    def annotate(self, exchange: Exchange) -> Exchange:
        """The exchange with the parameters that name its operation, counted; once a parameter turned out to hold
        data, its values are left to be values (the states read them as such). With the headers that name it."""
        found = self._candidates(exchange)
        for _, name, value in found:
            values = self.seen.setdefault(name.lower(), set())
            if len(values) <= self.most:
                values.add(value)
        found = tuple(p for p in found if not self.is_data(p[1]))
        found += tuple(("header", k, v) for k, v in exchange.request_headers if k.lower() in self.headers)
        return replace(exchange, operation_params=found) if found or exchange.operation_params else exchange

    def named_in(self, exchange: Exchange) -> Exchange:
        """The exchange with the parameters that name its operation, uncounted: what `select` rules' `operation`
        globs see (before redaction; nothing of it is kept)."""
        return replace(exchange, operation_params=self._candidates(exchange)) if self.selecting else exchange

    def is_data(self, name: str) -> bool:
        """Has the parameter shown more values than operations have names?"""
        return len(self.seen.get(name.lower(), ())) > self.most

    def of(self, exchange: Exchange) -> Named:
        """The parameters of an annotated request that name its operation, with their values, sorted by name:
        those that turned out to hold data left out."""
        named = (p for p in exchange.operation_params if p[0] != "header" and not self.is_data(p[1]))
        return tuple(sorted(named, key=_order))

    def _candidates(self, exchange: Exchange) -> Named:
        """The request's parameters the rules name, whose every value looks like an operation's name."""
        if not self.params:
            return ()
        sent: dict[tuple[str, str], list[str]] = {}
        for name, value in exchange.query:
            if name.lower() in self.params:
                sent.setdefault(("query", name), []).append(value)
        if exchange.request_body:
            for (where, name, *rest), value in (form_values(exchange) | multipart_values(exchange)).items():
                if not rest and name.lower() in self.params:
                    sent.setdefault((where, name), []).append(value)
        return tuple(
            sorted(
                (where, name, value)
                for (where, name), values in sent.items()
                if all(self._names_operation(v) for v in values)
                for value in values
            )
        )

    def _names_operation(self, value: str) -> bool:
        return bool(self.word.fullmatch(value)) and not any(d.search(value) for d in self.ids)


def _order(named: tuple[str, str, str]) -> tuple[str, str, str]:
    return named[1].lower(), named[0], named[2]


def with_method_meant(exchange: Exchange, rule: MethodOverride) -> Exchange:
    """The exchange with the method it means where a POST tunnels another (Exchange.meant): a `_method: "GET"`
    is a read to the states, one interaction apart from a `_method: "PUT"` to the same path."""
    meant = method_meant(exchange, rule.headers, rule.fields, rule.methods)
    return replace(exchange, meant=meant) if meant else exchange
