"""The report's JSON Schema (compilecheck.report/2; /1 still read) and a small validator.

The schema is a plain JSON Schema document (docs/report.schema.json is generated from it);
the validator covers the keywords it uses (type, required, properties, items, enum, const),
so checking a report needs no dependency beyond the standard library.
"""
from __future__ import annotations

import copy

from .. import SCHEMA

SCHEMA_V1 = "compilecheck.report/1"
_NUM = {"type": ["number", "null"]}
_INT = {"type": ["integer", "null"]}
_RANGE = {"type": ["array", "null"], "items": {"type": "number"}}
_STATUS = ["pass", "warn", "fail", "skip"]
CLASS_NAMES_V1 = ["cudagraph_overwrite", "state_mutation", "cudagraph_skipped", "graph_break",
                  "recompile", "recompile_limit", "numeric_mismatch", "compile_error",
                  "runtime_error", "oom", "crash", "timeout"]
RUNG_NAMES_V1 = ["calibrated", "full-fix", "abits16", "suppress-errors", "no-compile"]

REPORT_SCHEMA_V1 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "compilecheck report",
    "type": "object",
    "required": ["schema", "environment", "knobs", "cells", "ladder", "recommendation"],
    "properties": {
        "schema": {"const": SCHEMA_V1},
        "environment": {
            "type": "object",
            "required": ["torch", "python", "platform", "device", "gpu", "cuda", "driver",
                         "variables", "config"],
            "properties": {"torch": {"type": "string"}, "python": {"type": "string"},
                           "device": {"enum": ["cpu", "cuda"]},
                           "variables": {"type": "object"}, "config": {"type": "object"}},
        },
        "knobs": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "value", "read_by_torch", "verdict", "advice"],
            "properties": {"name": {"type": "string"}, "value": {"type": "string"},
                           "read_by_torch": {"type": ["boolean", "null"]},
                           "verdict": {"enum": ["ok", "ignored", "trap", "overridden",
                                                "invalid"]},
                           "advice": {"type": "string"}}}},
        "cells": {"type": "array", "items": {
            "type": "object",
            "required": ["variant", "mode", "cudagraphs", "device", "wbits", "abits", "status",
                         "findings", "error", "compile_s", "eager_ms", "compiled_ms", "speedup",
                         "max_abs_err", "graphs", "graph_breaks", "recompiles",
                         "cudagraph_skips"],
            "properties": {
                "variant": {"type": "string"}, "mode": {"type": "string"},
                "cudagraphs": {"enum": ["on", "off"]}, "device": {"enum": ["cpu", "cuda"]},
                "wbits": _INT, "abits": _INT, "status": {"enum": _STATUS},
                "findings": {"type": "array", "items": {
                    "type": "object", "required": ["class", "detail", "where"],
                    "properties": {"class": {"enum": CLASS_NAMES_V1},
                                   "detail": {"type": "string"},
                                   "where": {"type": ["string", "null"]}}}},
                "error": {"type": ["string", "null"]},
                "compile_s": _NUM, "eager_ms": _NUM, "compiled_ms": _NUM, "speedup": _NUM,
                "max_abs_err": _NUM, "graphs": _INT, "graph_breaks": _INT,
                "recompiles": _INT, "cudagraph_skips": _INT}}},
        "ladder": {"type": "array", "items": {
            "type": "object", "required": ["rung", "name", "status", "speedup", "settings", "why"],
            "properties": {"rung": {"type": "integer"},
                           "name": {"enum": RUNG_NAMES_V1},
                           "status": {"enum": _STATUS + ["n/a"]}, "speedup": _NUM,
                           "settings": {"type": "string"}, "why": {"type": "string"}}}},
        "recommendation": {"type": "object", "required": ["rung", "name", "summary"],
                           "properties": {"rung": _INT, "name": {"type": ["string", "null"]},
                                          "summary": {"type": "string"}}},
    },
}



def _v2() -> dict:
    """Version 2: the rungs and finding classes of today, the state audit, call patterns,
    timing spreads, compile profiles and the whole-model estimate."""
    from ..vocab.findings import CLASSES
    from ..vocab.rungs import NAMES

    doc = copy.deepcopy(REPORT_SCHEMA_V1)
    props = doc["properties"]
    props["schema"] = {"const": SCHEMA}
    cell = props["cells"]["items"]
    cell["required"] += ["pattern", "warmup"]
    cell["properties"].update({
        "pattern": {"type": "string"}, "warmup": {"type": "integer"},
        "eager_spread": _RANGE, "compiled_spread": _RANGE, "speedup_range": _RANGE,
        "compile_profile": {"type": ["object", "null"]}, "gpu_ms": _RANGE,
        "predicted": {"type": ["string", "null"]}, "role": {"type": "string"},
        "same_as": {"type": ["string", "null"]},
        # the whole module, or the representative instance of a repeated class it ran on
        "scope": {"type": "string"},
        # an internal error's traceback (a bug of compilecheck's, for a ticket to us)
        "traceback": {"type": ["string", "null"]},
        # compiled calls made: more than planned where every call recompiled (did they stop?)
        "calls": {"type": ["integer", "null"]}})
    finding = cell["properties"]["findings"]["items"]
    finding["properties"]["class"] = {"enum": list(CLASSES)}
    finding["properties"].update({"attribute": {"type": ["string", "null"]},
                                  "predicts": {"type": ["string", "null"]},
                                  # every module instance one (class, write site) covers
                                  "instances": {"type": "array", "items": {"type": "string"}},
                                  # torch's graph-break registry code, where it has one
                                  "code": {"type": ["string", "null"]}})
    rung = props["ladder"]["items"]
    rung["required"] += ["keeps_numerics", "speedup_range", "basis"]
    rung["properties"].update({
        "name": {"enum": list(NAMES)}, "keeps_numerics": {"type": "boolean"},
        "speedup_range": _RANGE, "basis": {"type": "string"},
        "same_as": {"type": ["string", "null"]}, "predicted": {"type": ["string", "null"]},
        # why its cell measured no compiled code: no candidate (docs/ladder.md 1b)
        "unfit": {"type": ["string", "null"]}})
    doc["required"] += ["state_writes"]
    props["state_writes"] = {"type": "object"}
    props["estimate"] = {"type": ["object", "null"]}
    props["cold_start"] = {"type": ["array", "null"], "items": {
        "type": "object", "required": ["name", "measured", "status", "do_this"],
        "properties": {"name": {"type": "string"}, "measured": {"type": "boolean"},
                       "status": {"type": "string"}, "do_this": {"type": "string"},
                       "compile_s": _NUM, "steady_ms": _NUM, "spread": _RANGE,
                       "max_abs_err": _NUM, "graphs": _INT, "recompiles": _INT,
                       # the regional rows: what they compiled (run/regions.py)
                       "region_class": {"type": "string"}, "region_owner": {"type": "string"},
                       "region_function": {"type": "string"}, "regions": _INT,
                       "region_paths": {"type": "array", "items": {"type": "string"}},
                       "region_source": {"enum": ["compile profile",
                                                 "repeated module class"]}}}}
    props["cold_start_recommendation"] = {"type": ["object", "null"],
                                          "required": ["name", "summary", "calls"]}
    # when the run started (ISO 8601, UTC): compare heads its columns with it
    props["environment"]["properties"]["date"] = {"type": "string"}
    # diagnose --ticket: the repro scripts written beside the report (report/ticket.py)
    props["ticket"] = {"type": ["array", "null"], "items": {
        "type": "object", "required": ["file", "class", "cell", "predicted", "traces"],
        "properties": {"file": {"type": "string"}, "class": {"enum": list(CLASSES)},
                       "cell": {"type": "string"}, "predicted": {"type": "boolean"},
                       "needs": {"type": "string"},
                       "traces": {"type": "array", "items": {"type": "string"}},
                       "traced_cell": {"type": ["string", "null"]},
                       "traced_status": {"type": ["string", "null"]}}}}
    return doc


REPORT_SCHEMA = _v2()
SCHEMAS = {SCHEMA_V1: REPORT_SCHEMA_V1, SCHEMA: REPORT_SCHEMA}

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
          "integer": int, "number": (int, float)}


def _is(value, name):
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[name])


def validate(doc, schema=REPORT_SCHEMA, path="$") -> list[str]:
    """Every violation as 'path: problem'; [] when the document conforms."""
    errors = []
    if "const" in schema and doc != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}, got {doc!r}")
    if "enum" in schema and doc not in schema["enum"]:
        errors.append(f"{path}: {doc!r} is not one of {schema['enum']}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(doc, t) for t in types):
            return errors + [f"{path}: expected {'/'.join(types)}, got {type(doc).__name__}"]
    if isinstance(doc, dict):
        for key in schema.get("required", []):
            if key not in doc:
                errors.append(f"{path}: missing {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in doc:
                errors += validate(doc[key], sub, f"{path}.{key}")
    if isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            errors += validate(item, schema["items"], f"{path}[{i}]")
    return errors
