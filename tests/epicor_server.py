"""An Epicor-shaped OData test server on 127.0.0.1: Kinetic REST v2's URL layout, Basic auth plus x-api-key,
$select/$filter/$orderby/$top/$skip paging (optionally @odata.nextLink, optionally a page cap below $top), serving a
folder of CSV exports; and faults injected on demand (401, 403, 404, 429 with Retry-After, 500, a slow page, a
malformed body, a connection dropped mid-page). Independent of the validator: the rows are typed by the schema's
declared types through tests/site_formats.py."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.site_formats import _typed_rows
from validator.tables import builtin_registry

USER, PASSWORD, API_KEY = "consultant", "pa55-Wörd-7781", "key-5a1b9c0e-secret-4411"
BO_SETS = {("Erp.BO.PartSvc", "Parts"): "Part", ("Erp.BO.PartSvc", "PartPlants"): "PartPlant",
           ("Erp.BO.PartSvc", "PartRevs"): "PartRev", ("Erp.BO.JobEntrySvc", "JobEntries"): "JobHead",
           ("Erp.BO.PartSvc", "PartMtls"): "PartMtl"}  # the last one named in the test's backflush.yaml
BAQ_PREFIX = "BF_"  # the test site's BAQs: BF_JobMtl serves JobMtl as Table_Field columns


@dataclass
class Site:
    """What the server serves and how it misbehaves."""

    tables: dict[str, list[dict[str, object]]]  # table -> rows by bare column name
    company: str = "EPIC06"
    page_cap: int | None = None  # the most rows a page holds, whatever $top asks
    next_links: bool = False
    faults: list[tuple[str, str]] = field(default_factory=list)  # (path part, fault), each used once, in order
    calls: list[str] = field(default_factory=list)  # every path asked for
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault_for(self, path: str) -> str | None:
        with self.lock:
            self.calls.append(path)
            for i, (part, fault) in enumerate(self.faults):
                if part in path:
                    del self.faults[i]
                    return fault
        return None


def load(folder: Path) -> dict[str, list[dict[str, object]]]:
    registry = builtin_registry()
    tables = {}
    for path in sorted(folder.glob("*.csv")):
        header, _, rows = _typed_rows(path, registry)
        names = [re.sub(rf"^{path.stem}[._]", "", h) for h in header]
        tables[path.stem] = [dict(zip(names, row, strict=True)) for row in rows]
    return tables


def _matches(row: dict[str, object], condition: str) -> bool:
    """$filter as the pull writes it: (Col eq 'A' or Col eq 'B') [and ...]."""
    for part in condition.split(" and "):
        options = re.findall(r"(\w+) eq '((?:[^']|'')*)'", part)
        if options and not any(str(row.get(column)) == value.replace("''", "'") for column, value in options):
            return False
    return True


class Handler(BaseHTTPRequestHandler):
    site: Site

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        fault = self.site.fault_for(url.path)
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if fault == "401" or self.headers.get("Authorization") != expected or self.headers.get("x-api-key") != API_KEY:
            return self._send(401, b'{"ErrorMessage": "Unauthorized"}')
        if fault in ("403", "404", "500"):
            return self._send(int(fault), json.dumps({"ErrorMessage": fault}).encode())
        if fault == "429":
            return self._send(429, b'{"ErrorMessage": "Too many requests"}', {"Retry-After": "1"})
        if fault == "slow":
            time.sleep(3)
        match = re.fullmatch(r"/[^/]+/api/v2/odata/([^/]+)/(.+)", url.path)
        if not match or match.group(1) != self.site.company:
            return self._send(404, b'{"ErrorMessage": "no such company or service"}')
        rest = match.group(2)
        baq = re.fullmatch(rf"BaqSvc/{BAQ_PREFIX}(\w+)/Data", rest)
        if baq:
            table, prefix = baq.group(1), f"{baq.group(1)}_"
        else:
            service, _, entity_set = rest.partition("/")
            table, prefix = BO_SETS.get((service, entity_set)), ""
        if table not in self.site.tables:
            return self._send(404, b'{"ErrorMessage": "no such entity set"}')
        rows = [{f"{prefix}{k}": v for k, v in row.items()} for row in self.site.tables[table]]
        rows = [r for r in rows if _matches(r, query.get("$filter", ""))]
        if "$orderby" in query:
            keys = query["$orderby"].split(",")
            rows.sort(key=lambda r: tuple(("" if r.get(k) is None else str(r.get(k))) for k in keys))
        skip, top = int(query.get("$skip", 0)), int(query.get("$top", 100))
        size = min(top, self.site.page_cap or top)
        page = rows[skip:skip + size]
        if "$select" in query:
            wanted = query["$select"].split(",")
            page = [{k: r.get(k) for k in wanted if k in r} for r in page]
        document: dict[str, object] = {"@odata.context": "$metadata", "value": page}
        if self.site.next_links and page:
            document["@odata.nextLink"] = (f"http://{self.headers['Host']}{url.path}?"
                                           + urlencode({**query, "$skip": str(skip + len(page))}))
        body = json.dumps(document, default=str).encode()
        if fault == "malformed":
            return self._send(200, b"<html><body>Sign in</body></html>")
        if fault == "drop":  # the headers and half the body, then the connection goes
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return None
        return self._send(200, body)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a connection the test drops on purpose is no error to print


@contextmanager
def serving(site: Site) -> Iterator[str]:
    """The server on 127.0.0.1 (a free port) while the block runs; yields its base URL (the instance root)."""
    handler = type("SiteHandler", (Handler,), {"site": site})
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/EpicorTest"
    finally:
        server.shutdown()
        server.server_close()
