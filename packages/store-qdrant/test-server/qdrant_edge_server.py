#!/usr/bin/env python3
"""A small Qdrant REST server for tests, backed by Qdrant's real engine (qdrant-edge-py).

No Qdrant server binary can run on mnemo's test machines, so this serves the subset of Qdrant's
REST API that @mnemo/store-qdrant uses, and does every search, filter, count, facet, scroll,
retrieve, upsert and delete with qdrant-edge (``EdgeShard``): scoring, filtering and id rules are
Qdrant's own. This file only translates JSON to qdrant-edge objects and back.

Every request and every response is validated against Qdrant's official OpenAPI spec
(third_party/qdrant/openapi-v1.19.json) with openapi-core. A mismatch is recorded as a violation
(``GET /__test__/violations``); an invalid request is also answered 400. Endpoints the shim does not
implement answer 501 and are recorded too, so a test never passes against something made up.

Test-only control endpoints (not part of Qdrant's API, never validated):
  GET  /__test__/violations        -> {"violations": [...]}
  POST /__test__/violations/clear
  POST /__test__/faults            body {"mode": "delay"|"status"|"drop"|"none", "ms": 500,
                                         "status": 500, "times": 3 | null, "path": "substring"}
  GET  /__test__/stats             -> {"requests": n, "faulted": n}
  POST /__test__/stats/reset
  POST /__test__/optimize          body {"collection": name}: run qdrant-edge's optimizers (HNSW build)
  POST /__test__/reset             drops every collection and fault, clears violations

Run:  python qdrant_edge_server.py --port 0      (prints {"url": "http://127.0.0.1:PORT"} once ready)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import qdrant_edge as qe
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = HERE.parent / "third_party" / "qdrant" / "openapi-v1.19.json"
SERVER_VERSION = "1.19.0"
CONTROL = "/__test__/"


class HttpError(Exception):
    """An error answered with Qdrant's ErrorResponse shape."""

    def __init__(self, status: int, message: str, unsupported: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.unsupported = unsupported


def unsupported(what: str) -> HttpError:
    return HttpError(501, f"Not implemented by the qdrant-edge test server: {what}", True)


# ---------------------------------------------------------------------------------------------
# OpenAPI validation (openapi-core's request/response protocols)
# ---------------------------------------------------------------------------------------------


class SpecRequest:
    def __init__(self, host_url: str, method: str, path: str, query: str, body: bytes, headers):
        self.host_url = host_url
        self.method = method.lower()
        self.path = path
        self.full_url_pattern = host_url + path
        self.body = body
        self.content_type = headers.get("Content-Type", "application/json") if body else ""
        self.parameters = RequestParameters(
            path={},
            query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)),
            header=Headers(dict(headers.items())),
            cookie=ImmutableMultiDict(),
        )


class SpecResponse:
    def __init__(self, data: bytes, status_code: int):
        self.data = data
        self.status_code = status_code
        self.headers = Headers({"Content-Type": "application/json"})
        self.content_type = "application/json"


def describe_validation_error(err: Exception) -> str:
    parts = [f"{type(err).__name__}: {err}"]
    cause = err.__cause__
    while cause is not None:
        parts.append(f"{type(cause).__name__}: {cause}")
        for sub in getattr(cause, "schema_errors", []) or []:
            parts.append(f"  at {list(sub.absolute_path)}: {sub.message[:300]}")
        cause = cause.__cause__
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# JSON -> qdrant-edge
# ---------------------------------------------------------------------------------------------

DISTANCES = {
    "Cosine": qe.Distance.Cosine,
    "Euclid": qe.Distance.Euclid,
    "Dot": qe.Distance.Dot,
    "Manhattan": qe.Distance.Manhattan,
}
DATATYPES = {
    "float32": qe.VectorStorageDatatype.Float32,
    "float16": qe.VectorStorageDatatype.Float16,
    "uint8": qe.VectorStorageDatatype.Uint8,
}
SCHEMA_TYPES = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "geo": qe.PayloadSchemaType.Geo,
    "text": qe.PayloadSchemaType.Text,
    "bool": qe.PayloadSchemaType.Bool,
    "datetime": qe.PayloadSchemaType.Datetime,
    "uuid": qe.PayloadSchemaType.Uuid,
}
DEFAULT_HNSW = {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000}


def point_id(value: Any) -> Any:
    """A REST ExtendedPointId (unsigned integer or UUID string) as qdrant-edge takes it."""
    if isinstance(value, bool):
        raise HttpError(400, "Wrong input: a point id must be an unsigned integer or a UUID")
    if isinstance(value, int):
        return value
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise HttpError(400, f"Wrong input: unable to parse UUID: {value}") from None


def point_id_out(value: Any) -> Any:
    return value if isinstance(value, int) else str(value)


def hnsw_config(diff: dict | None, base: dict) -> qe.HnswIndexConfig:
    d = {**base, **{k: v for k, v in (diff or {}).items() if v is not None}}
    return qe.HnswIndexConfig(
        m=d["m"],
        ef_construct=d["ef_construct"],
        full_scan_threshold=d["full_scan_threshold"],
        payload_m=d.get("payload_m"),
        on_disk=d.get("on_disk"),
    )


def vector_params(p: dict, base_hnsw: dict) -> qe.EdgeVectorParams:
    if p.get("quantization_config") is not None:
        raise unsupported("per-vector quantization_config")
    multi = p.get("multivector_config")
    return qe.EdgeVectorParams(
        size=p["size"],
        distance=DISTANCES[p["distance"]],
        on_disk=p.get("on_disk"),
        multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim) if multi else None,
        datatype=DATATYPES[p["datatype"]] if p.get("datatype") else None,
        hnsw_config=hnsw_config(p["hnsw_config"], base_hnsw) if p.get("hnsw_config") else None,
    )


def vector_params_out(v: qe.EdgeVectorParams) -> dict:
    """VectorParams as Qdrant reports it, read back from the qdrant-edge object."""
    out: dict[str, Any] = {"size": v.size, "distance": str(v.distance).split(".")[-1]}
    if v.hnsw_config is not None:
        h = v.hnsw_config
        out["hnsw_config"] = {"m": h.m, "ef_construct": h.ef_construct}
    if v.on_disk is not None:
        out["on_disk"] = v.on_disk
    if v.multivector_config is not None:
        out["multivector_config"] = {"comparator": "max_sim"}
    if v.datatype is not None:
        out["datatype"] = str(v.datatype).split(".")[-1].lower()
    return out


def match_value(v: Any) -> Any:
    # qdrant-edge-py 0.9.0 quirk: MatchValue(True) is read as the integer 1 (PyO3 tries i64
    # before bool, and Python's bool is an int), so it never matches a boolean payload. A
    # numpy.bool_ is not an int to PyO3 and reaches the engine as a real boolean match.
    return np.bool_(v) if isinstance(v, bool) else v


def condition(c: Any) -> Any:
    if not isinstance(c, dict):
        raise HttpError(400, "Wrong input: a condition must be an object")
    if "key" in c:
        kwargs: dict[str, Any] = {}
        m = c.get("match")
        if m is not None:
            if "value" in m:
                kwargs["match"] = qe.MatchValue(match_value(m["value"]))
            elif "any" in m:
                kwargs["match"] = qe.MatchAny(m["any"])
            elif "except" in m:
                kwargs["match"] = qe.MatchExcept(m["except"])
            elif "text" in m:
                kwargs["match"] = qe.MatchText(m["text"])
            elif "phrase" in m:
                kwargs["match"] = qe.MatchPhrase(m["phrase"])
            elif "text_any" in m:
                kwargs["match"] = qe.MatchTextAny(m["text_any"])
            else:
                raise unsupported(f"match {sorted(m)}")
        r = c.get("range")
        if r is not None:
            bounds = {k: r.get(k) for k in ("gte", "gt", "lte", "lt")}
            if any(isinstance(b, str) for b in bounds.values()):
                raise unsupported("datetime ranges")
            kwargs["range"] = qe.RangeFloat(**bounds)
        for flag in ("is_empty", "is_null"):
            if c.get(flag) is not None:
                kwargs[flag] = c[flag]
        for geo in ("geo_bounding_box", "geo_radius", "geo_polygon", "values_count"):
            if c.get(geo) is not None:
                raise unsupported(f"field condition {geo}")
        return qe.FieldCondition(c["key"], **kwargs)
    if "is_empty" in c:
        return qe.IsEmptyCondition(c["is_empty"]["key"])
    if "is_null" in c:
        return qe.IsNullCondition(c["is_null"]["key"])
    if "has_id" in c:
        return qe.HasIdCondition({point_id(i) for i in c["has_id"]})
    if "has_vector" in c:
        return qe.HasVectorCondition(c["has_vector"])
    if "nested" in c:
        return qe.NestedCondition(c["nested"]["key"], filter_(c["nested"]["filter"]))
    if any(k in c for k in ("must", "should", "must_not", "min_should")):
        return filter_(c)
    raise unsupported(f"condition {sorted(c)}")


def conditions(value: Any) -> list | None:
    if value is None:
        return None
    return [condition(c) for c in (value if isinstance(value, list) else [value])]


def filter_(f: dict | None) -> qe.Filter | None:
    if f is None:
        return None
    min_should = None
    if f.get("min_should") is not None:
        ms = f["min_should"]
        min_should = qe.MinShould(conditions(ms["conditions"]) or [], ms["min_count"])
    return qe.Filter(
        must=conditions(f.get("must")),
        should=conditions(f.get("should")),
        must_not=conditions(f.get("must_not")),
        min_should=min_should,
    )


def with_payload(value: Any, default: bool) -> Any:
    if value is None:
        return default
    if isinstance(value, (bool, list)):
        return value
    if "include" in value:
        inc = value["include"]
        return qe.PayloadSelector.Include(inc if isinstance(inc, list) else [inc])
    if "exclude" in value:
        exc = value["exclude"]
        return qe.PayloadSelector.Exclude(exc if isinstance(exc, list) else [exc])
    raise unsupported("payload selector")


def with_vector(value: Any, default: bool) -> Any:
    return default if value is None else value


def vector_in(v: Any) -> Any:
    """A REST VectorStruct (dense, multi-dense, or named map) for qdrant_edge.Point."""
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        out = {}
        for name, item in v.items():
            if isinstance(item, dict):
                if "indices" in item:
                    out[name] = qe.SparseVector(item["indices"], item["values"])
                else:
                    raise unsupported("inference objects (Document/Image/InferenceObject)")
            else:
                out[name] = item
        return out
    raise HttpError(400, "Wrong input: malformed vector")


def vector_out(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, dict):
        return {k: vector_out(x) for k, x in v.items()}
    if isinstance(v, qe.SparseVector):
        return {"indices": list(v.indices), "values": list(v.values)}
    return v


def payload_out(p: Any) -> Any:
    return p


def record_out(r: Any) -> dict:
    out: dict[str, Any] = {"id": point_id_out(r.id), "payload": payload_out(r.payload)}
    out["vector"] = vector_out(r.vector)
    return out


def scored_out(p: Any) -> dict:
    return {
        "id": point_id_out(p.id),
        "version": p.version,
        "score": p.score,
        "payload": payload_out(p.payload),
        "vector": vector_out(p.vector),
    }


def nearest_query(q: Any, using: str | None) -> Any:
    if isinstance(q, dict):
        if "nearest" in q:
            q = q["nearest"]
        else:
            raise unsupported(f"query {sorted(q)}")
    if isinstance(q, list):
        return qe.Query.Nearest(q, using=using)
    if isinstance(q, dict) and "indices" in q:
        return qe.Query.Nearest(qe.SparseVector(q["indices"], q["values"]), using=using)
    raise unsupported("query by point id or non-vector query")


# ---------------------------------------------------------------------------------------------
# Collections
# ---------------------------------------------------------------------------------------------


class Collection:
    def __init__(self, name: str, path: Path, body: dict):
        self.name = name
        self.path = path
        self.lock = threading.RLock()
        self.params = {
            "shard_number": body.get("shard_number") or 1,
            "replication_factor": body.get("replication_factor") or 1,
            "write_consistency_factor": body.get("write_consistency_factor") or 1,
            "on_disk_payload": True if body.get("on_disk_payload") is None else body["on_disk_payload"],
        }
        if body.get("sharding_method") == "custom":
            raise unsupported("custom sharding")
        if body.get("sparse_vectors"):
            raise unsupported("sparse vectors")
        self.hnsw = {**DEFAULT_HNSW, **{k: v for k, v in (body.get("hnsw_config") or {}).items() if v is not None}}
        vectors = body.get("vectors")
        if vectors is None:
            raise HttpError(400, "Wrong input: vectors config is required")
        self.single = "size" in vectors
        if self.single:
            edge_vectors: Any = vector_params(vectors, self.hnsw)
        else:
            edge_vectors = {name: vector_params(p, self.hnsw) for name, p in vectors.items()}
        self.config = qe.EdgeConfig(
            vectors=edge_vectors,
            on_disk_payload=self.params["on_disk_payload"],
            hnsw_config=hnsw_config(None, self.hnsw),
        )
        self.shard = qe.EdgeShard.create(str(path), self.config)
        self.index_params: dict[str, Any] = {}
        self.operation_id = 0

    def next_op(self) -> int:
        self.operation_id += 1
        return self.operation_id

    def info(self) -> dict:
        with self.lock:
            info = self.shard.info()
            schema = {}
            for field, idx in info.payload_schema.items():
                entry: dict[str, Any] = {
                    "data_type": str(idx.data_type).split(".")[-1].lower(),
                    "points": idx.points,
                }
                if field in self.index_params:
                    entry["params"] = self.index_params[field]
                schema[field] = entry
            vectors = self.config.vectors
            if self.single:
                vectors_out: Any = vector_params_out(vectors[""])
            else:
                vectors_out = {name: vector_params_out(v) for name, v in vectors.items()}
            return {
                "status": "green",
                "optimizer_status": "ok",
                "segments_count": info.segments_count,
                "points_count": info.points_count,
                "indexed_vectors_count": info.indexed_vectors_count,
                "config": {
                    "params": {"vectors": vectors_out, **self.params},
                    "hnsw_config": dict(self.hnsw),
                    "optimizer_config": {"default_segment_number": 0, "flush_interval_sec": 5},
                    "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
                },
                "payload_schema": schema,
            }

    def close(self) -> None:
        with self.lock:
            self.shard.close()


class State:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.collections: dict[str, Collection] = {}
        self.lock = threading.Lock()
        self.violations: list[dict] = []
        self.faults: list[dict] = []
        self.requests = 0
        self.faulted = 0

    def get(self, name: str) -> Collection:
        with self.lock:
            c = self.collections.get(name)
        if c is None:
            raise HttpError(404, f"Not found: Collection `{name}` doesn't exist!")
        return c

    def create(self, name: str, body: dict) -> None:
        with self.lock:
            if name in self.collections:
                raise HttpError(409, f"Wrong input: Collection `{name}` already exists!")
            path = self.data_dir / f"{uuid.uuid4().hex}-{len(self.collections)}"
            self.collections[name] = Collection(name, path, body)

    def drop(self, name: str) -> bool:
        with self.lock:
            c = self.collections.pop(name, None)
        if c is None:
            return False
        c.close()
        shutil.rmtree(c.path, ignore_errors=True)
        return True

    def reset(self) -> None:
        for name in list(self.collections):
            self.drop(name)
        with self.lock:
            self.violations.clear()
            self.faults.clear()
            self.requests = 0
            self.faulted = 0

    def take_fault(self, path: str) -> dict | None:
        with self.lock:
            for f in self.faults:
                if f.get("path") and f["path"] not in path:
                    continue
                if f.get("times") is not None:
                    if f["times"] <= 0:
                        continue
                    f["times"] -= 1
                self.faulted += 1
                return dict(f)
        return None


# ---------------------------------------------------------------------------------------------
# Qdrant endpoints
# ---------------------------------------------------------------------------------------------


def update_result(c: Collection, wait: bool) -> dict:
    return {"operation_id": c.next_op(), "status": "completed" if wait else "acknowledged"}


def route(state: State, method: str, parts: list[str], query: dict, body: Any) -> Any:
    """Returns the `result` of Qdrant's response envelope for a Qdrant REST call."""
    wait = query.get("wait", "false") == "true"
    if parts == ["healthz"] and method == "GET":
        return "healthz check passed"
    if len(parts) < 2 or parts[0] != "collections":
        raise unsupported(f"{method} /{'/'.join(parts)}")
    name, rest = parts[1], parts[2:]

    if rest == []:
        if method == "GET":
            return state.get(name).info()
        if method == "PUT":
            state.create(name, body or {})
            return True
        if method == "DELETE":
            return state.drop(name)
    if rest == ["exists"] and method == "GET":
        with state.lock:
            return {"exists": name in state.collections}

    c = state.get(name)
    with c.lock:
        if rest == ["index"] and method == "PUT":
            schema = body.get("field_schema")
            if schema is None:
                raise HttpError(400, "Wrong input: field_schema is required")
            if isinstance(schema, str):
                edge_schema: Any = SCHEMA_TYPES[schema]
            elif schema.get("type") == "keyword":
                edge_schema = qe.KeywordIndexParams(is_tenant=schema.get("is_tenant"), on_disk=schema.get("on_disk"))
                c.index_params[body["field_name"]] = {k: v for k, v in schema.items() if v is not None}
            else:
                edge_schema = SCHEMA_TYPES[schema["type"]]
            c.shard.update(qe.UpdateOperation.create_field_index(body["field_name"], edge_schema))
            return update_result(c, wait)

        if rest == ["points"] and method == "PUT":
            if body.get("shard_key") is not None or body.get("update_filter") is not None:
                raise unsupported("shard_key / update_filter on upsert")
            points = [
                qe.Point(point_id(p["id"]), vector_in(p["vector"]), p.get("payload"))
                for p in body["points"]
            ]
            c.shard.update(qe.UpdateOperation.upsert_points(points))
            return update_result(c, wait)

        if rest == ["points"] and method == "POST":
            ids = [point_id(i) for i in body["ids"]]
            records = c.shard.retrieve(
                ids,
                with_payload=with_payload(body.get("with_payload"), True),
                with_vector=with_vector(body.get("with_vector"), False),
            )
            return [record_out(r) for r in records]

        if rest == ["points", "delete"] and method == "POST":
            if "points" in body:
                op = qe.UpdateOperation.delete_points([point_id(i) for i in body["points"]])
            else:
                op = qe.UpdateOperation.delete_points_by_filter(filter_(body["filter"]))
            c.shard.update(op)
            return update_result(c, wait)

        if rest == ["points", "scroll"] and method == "POST":
            if body.get("order_by") is not None:
                raise unsupported("scroll order_by")
            offset = body.get("offset")
            records, next_offset = c.shard.scroll(
                qe.ScrollRequest(
                    offset=None if offset is None else point_id(offset),
                    limit=body.get("limit") or 10,
                    filter=filter_(body.get("filter")),
                    with_payload=with_payload(body.get("with_payload"), True),
                    with_vector=with_vector(body.get("with_vector"), False),
                )
            )
            return {
                "points": [record_out(r) for r in records],
                "next_page_offset": None if next_offset is None else point_id_out(next_offset),
            }

        if rest == ["points", "count"] and method == "POST":
            exact = body.get("exact")
            n = c.shard.count(qe.CountRequest(exact=True if exact is None else exact, filter=filter_(body.get("filter"))))
            return {"count": n}

        if rest == ["facet"] and method == "POST":
            res = c.shard.facet(
                qe.FacetRequest(
                    body["key"],
                    limit=body.get("limit") or 10,
                    exact=bool(body.get("exact")),
                    filter=filter_(body.get("filter")),
                )
            )
            return {"hits": [{"value": h.value, "count": h.count} for h in res]}

        if rest == ["points", "query"] and method == "POST":
            if body.get("prefetch") or body.get("lookup_from") or body.get("shard_key") is not None:
                raise unsupported("prefetch / lookup_from / shard_key on query")
            q = body.get("query")
            params = body.get("params") or {}
            if params.get("quantization") or params.get("acorn"):
                raise unsupported("quantization / acorn search params")
            points = c.shard.query(
                qe.QueryRequest(
                    limit=body.get("limit") or 10,
                    offset=body.get("offset"),
                    query=None if q is None else nearest_query(q, body.get("using")),
                    filter=filter_(body.get("filter")),
                    score_threshold=body.get("score_threshold"),
                    params=qe.SearchParams(
                        hnsw_ef=params.get("hnsw_ef"),
                        exact=bool(params.get("exact")),
                        indexed_only=bool(params.get("indexed_only")),
                    ),
                    with_payload=with_payload(body.get("with_payload"), False),
                    with_vector=with_vector(body.get("with_vector"), False),
                )
            )
            return {"points": [scored_out(p) for p in points]}

    raise unsupported(f"{method} /{'/'.join(parts)}")


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


def make_handler(state: State, openapi: OpenAPI | None, quiet: bool):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "qdrant-edge-test-server"

        def log_message(self, fmt: str, *args: Any) -> None:  # noqa: D401 - stdlib signature
            if not quiet:
                sys.stderr.write("[qdrant-edge-server] " + (fmt % args) + "\n")

        def do_GET(self) -> None:
            self.handle_any("GET")

        def do_POST(self) -> None:
            self.handle_any("POST")

        def do_PUT(self) -> None:
            self.handle_any("PUT")

        def do_DELETE(self) -> None:
            self.handle_any("DELETE")

        def do_PATCH(self) -> None:
            self.handle_any("PATCH")

        def send_json(self, status: int, payload: Any) -> bytes:
            data = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (its timeout or AbortSignal fired): nothing to answer.
                self.close_connection = True
            return data

        def violation(self, kind: str, method: str, path: str, detail: str) -> None:
            with state.lock:
                state.violations.append({"kind": kind, "method": method, "path": path, "detail": detail})
            sys.stderr.write(f"[qdrant-edge-server] {kind} violation {method} {path}: {detail}\n")

        def handle_any(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if url.path.startswith(CONTROL):
                self.control(method, url.path[len(CONTROL):], raw)
                return
            with state.lock:
                state.requests += 1
            fault = state.take_fault(url.path)
            if fault is not None:
                mode = fault.get("mode")
                if mode == "drop":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                if mode == "delay":
                    time.sleep(fault.get("ms", 1000) / 1000)
                elif mode == "status":
                    status = fault.get("status", 500)
                    self.send_json(status, {"status": {"error": f"Service internal error: injected fault {status}"}, "time": 0.0})
                    return
            started = time.perf_counter()
            host_url = f"http://{self.headers.get('Host', 'localhost')}"
            req = SpecRequest(host_url, method, url.path, url.query, raw, self.headers)
            if openapi is not None:
                try:
                    openapi.validate_request(req)
                except Exception as e:  # openapi-core raises several classes; all are violations
                    detail = describe_validation_error(e)
                    self.violation("request", method, url.path, detail)
                    self.send_json(400, {"status": {"error": f"Format error in JSON body: {detail}"}, "time": 0.0})
                    return
            try:
                body = json.loads(raw) if raw else None
                parts = [p for p in url.path.split("/") if p]
                if parts == [] and method == "GET":
                    # Qdrant answers its root with a bare VersionInfo, not the usual envelope.
                    status, payload = 200, {"title": "qdrant - vector search engine", "version": SERVER_VERSION}
                else:
                    result = route(state, method, parts, dict(parse_qsl(url.query)), body)
                    status, payload = 200, {"result": result, "status": "ok", "time": time.perf_counter() - started}
            except HttpError as e:
                if e.unsupported:
                    self.violation("unsupported", method, url.path, e.message)
                status, payload = e.status, {"status": {"error": e.message}, "time": time.perf_counter() - started}
            except (KeyError, TypeError) as e:
                status, payload = 400, {"status": {"error": f"Wrong input: {type(e).__name__}: {e}"}, "time": 0.0}
            except Exception as e:  # qdrant-edge raises plain exceptions for bad input (dims, ids...)
                if not quiet:
                    traceback.print_exc()
                status, payload = 400, {"status": {"error": f"Wrong input: {e}"}, "time": time.perf_counter() - started}
            data = self.send_json(status, payload)
            if openapi is not None:
                try:
                    openapi.validate_response(req, SpecResponse(data, status))
                except Exception as e:
                    self.violation("response", method, url.path, describe_validation_error(e))

        def control(self, method: str, what: str, raw: bytes) -> None:
            body = json.loads(raw) if raw else {}
            if what == "violations" and method == "GET":
                with state.lock:
                    self.send_json(200, {"violations": list(state.violations)})
            elif what == "violations/clear" and method == "POST":
                with state.lock:
                    state.violations.clear()
                self.send_json(200, {"ok": True})
            elif what == "faults" and method == "POST":
                with state.lock:
                    state.faults = [] if body.get("mode", "none") == "none" else [body]
                self.send_json(200, {"ok": True})
            elif what == "stats" and method == "GET":
                with state.lock:
                    self.send_json(200, {"requests": state.requests, "faulted": state.faulted})
            elif what == "optimize" and method == "POST":
                # Real Qdrant builds HNSW indexes in background optimizers; qdrant-edge only on
                # request. This runs them now (blocking) on one collection.
                c = state.get(body["collection"])
                started = time.perf_counter()
                with c.lock:
                    changed = c.shard.optimize()
                self.send_json(200, {"optimized": changed, "seconds": time.perf_counter() - started})
            elif what == "stats/reset" and method == "POST":
                with state.lock:
                    state.requests = 0
                    state.faulted = 0
                self.send_json(200, {"ok": True})
            elif what == "reset" and method == "POST":
                state.reset()
                self.send_json(200, {"ok": True})
            else:
                self.send_json(404, {"error": f"unknown control endpoint {method} {what}"})

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--data-dir", help="where shards live (default: a temp dir removed on exit)")
    ap.add_argument("--spec", default=str(DEFAULT_SPEC), help="Qdrant OpenAPI spec (JSON)")
    ap.add_argument(
        "--no-validate",
        action="store_true",
        help="skip OpenAPI validation (benchmarks only: validating 640-wide vectors in Python dominates)",
    )
    ap.add_argument("--fault", help='a fault active from start-up, as JSON: {"mode": "status", "status": 500}')
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--exit-with-stdin", action="store_true", help="stop when stdin closes (for test harnesses)")
    args = ap.parse_args()

    own_dir = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="mnemo-qdrant-edge-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    state = State(data_dir)
    if args.fault:
        state.faults = [json.loads(args.fault)]
    openapi = None if args.no_validate else OpenAPI.from_file_path(args.spec)

    server = ThreadingHTTPServer((args.host, args.port), make_handler(state, openapi, not args.verbose))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(json.dumps({"url": f"http://{host}:{port}", "pid": os.getpid(), "validate": openapi is not None}), flush=True)
    try:
        if args.exit_with_stdin:
            # A crashed parent closes the pipe, so the server never outlives its test run.
            threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for name in list(state.collections):
            state.drop(name)
        if own_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
