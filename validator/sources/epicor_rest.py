"""Pulling a site from Epicor Kinetic's REST API v2 (OData) into a snapshot: one Parquet file per table and a
manifest, written to a temporary folder beside the target and renamed into place only when every table is whole.

URLs follow Epicor's v2 layout (domain reference 3.1): `{base}/api/v2/odata/{Company}/Erp.BO.{Svc}/{EntitySet}` for
a business object's entity set, `{base}/api/v2/odata/{Company}/BaqSvc/{BAQID}/Data` for a BAQ (columns named
`Table_Field`). Every request carries Basic auth and the `x-api-key` header (v2 answers 401 without it). Pages are
read with `$top`/`$skip` (and `$orderby` on the key, so that pages do not overlap), following `@odata.nextLink`
when the server sends one; a page shorter than asked is not taken as the end (a server may cap its pages below
`$top`): the table ends with an empty page. 429 (honouring Retry-After), 5xx, timeouts and dropped connections are
retried with backoff, a bounded number of times within a bounded time; 401, 403 and 404 stop at once, saying what
to fix. No secret is written anywhere: not in the manifest, a message or the files."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.parquet as pq

from validator.errors import DataError
from validator.sources.xlsx_reader import cell_text

MANIFEST = "manifest.json"
# rows of a pulled table written to its Parquet file at a time: DuckDB's own row group size (its scans run in parallel
# over row groups)
ROW_GROUP = 122_880
SNAPSHOT_FORMAT = "backflush-snapshot/1"
# the business-object entity sets the domain reference confirms (3.1); any other table is read from the BAQ or
# entity set backflush.yaml names for it (sources: epicor: tables:)
ENTITY_SETS = {"Part": ("Erp.BO.PartSvc", "Parts"), "PartPlant": ("Erp.BO.PartSvc", "PartPlants"),
               "PartRev": ("Erp.BO.PartSvc", "PartRevs"), "JobHead": ("Erp.BO.JobEntrySvc", "JobEntries")}
STOPS = {401: "the user, password or API key was refused: check EPICOR_USER, EPICOR_PASSWORD and EPICOR_API_KEY (the "
              "key is made in System Setup > Security > API Keys)",
         403: "the user or the API key's access scope may not read this: add the service or BAQ to the key's access "
              "scope, or grant the user",
         404: "no such service, entity set or BAQ on this server: check base_url, company and the table's service, "
              "set or baq in backflush.yaml (sources: epicor: tables:)"}


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str
    api_key: str

    def secrets(self) -> list[str]:
        return [s for s in (self.password, self.api_key) if s]


@dataclass(frozen=True)
class RestSettings:
    base_url: str
    company: str
    plants: tuple[str, ...] = ()
    page_size: int = 1000
    timeout: float = 60.0
    retries: int = 5
    max_wait: float = 300.0
    verify: bool | str = True
    tables: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> RestSettings:
        return cls(data["base_url"].rstrip("/"), data["company"], tuple(data.get("plants", ())),
                   int(data.get("page_size", 1000)), float(data.get("timeout", 60)), int(data.get("retries", 5)),
                   float(data.get("max_wait", 300)), data.get("verify", True), dict(data.get("tables", {})))

    def url(self, table: str) -> str:
        """The URL of a table's rows; a table with neither a known entity set nor a configured one is an error."""
        given = self.tables.get(table, {})
        root = f"{self.base_url}/api/v2/odata/{self.company}"
        if "baq" in given:
            return f"{root}/BaqSvc/{given['baq']}/Data"
        service, entity_set = given.get("service"), given.get("set")
        if not (service and entity_set):
            service, entity_set = ENTITY_SETS.get(table, (None, None))
        if not (service and entity_set):
            raise DataError(f"no REST source for table {table}: name its BAQ (or business-object service and entity "
                            f"set) under sources: epicor: tables: {table}: in backflush.yaml", location="backflush.yaml")
        return f"{root}/{service}/{entity_set}"

    def bo_tables(self) -> list[str]:
        """The tables read from a business object's entity set (their fields include calculated ones)."""
        return sorted({*ENTITY_SETS, *(t for t, given in self.tables.items() if "service" in given)} -
                      {t for t, given in self.tables.items() if "baq" in given})

    def is_baq(self, table: str) -> bool:
        return "baq" in self.tables.get(table, {})


def public_url(url: str) -> str:
    """A URL as a manifest or message may show it: no user, password or query."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "",
                       parts.path, "", ""))


class PullError(DataError):
    """A pull that cannot go on; its message names the table and the URL without secrets."""


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Client:
    """One table's pages, through httpx with tenacity's bounded retries."""

    def __init__(self, settings: RestSettings, credentials: Credentials,
                 on_wait: Callable[[str], None] | None = None) -> None:
        import httpx

        self.settings = settings
        self.secrets = credentials.secrets()
        self.http = httpx.Client(auth=(credentials.user, credentials.password), timeout=settings.timeout,
                                 verify=settings.verify, headers={"x-api-key": credentials.api_key,
                                                                  "Accept": "application/json"})
        self.on_wait = on_wait or (lambda message: None)

    def close(self) -> None:
        self.http.close()

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def _get(self, url: str, params: dict[str, str] | None, table: str) -> dict[str, Any]:
        import httpx
        from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

        class Retry(Exception):
            def __init__(self, reason: str, wait: float | None = None) -> None:
                super().__init__(reason)
                self.wait = wait

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            given = exc.wait if isinstance(exc, Retry) else None
            backoff = min(30.0, 0.5 * 2 ** (state.attempt_number - 1))
            return min(given if given is not None else backoff, self.settings.max_wait)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.on_wait(f"{table}: {exc}; retrying ({state.attempt_number}/{self.settings.retries})")

        def attempt() -> dict[str, Any]:
            try:
                response = self.http.get(url, params=params)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                raise Retry(f"{type(exc).__name__}: {self._clean(str(exc)) or 'no answer'}") from None
            if response.status_code == 429:
                raise Retry("429 Too Many Requests", _retry_after(response))
            if response.status_code >= 500:
                raise Retry(f"{response.status_code} {response.reason_phrase}", _retry_after(response))
            if response.status_code in STOPS:
                raise PullError(f"{table}: {response.status_code} {response.reason_phrase}: {STOPS[response.status_code]}",
                                location=public_url(url))
            if response.status_code != 200:
                raise PullError(f"{table}: unexpected answer {response.status_code} {response.reason_phrase}",
                                location=public_url(url))
            try:
                document = response.json()
            except ValueError:
                raise PullError(f"{table}: the answer is not JSON (starts {self._clean(response.text[:80])!r}): a proxy "
                                "or login page may stand in front of the API", location=public_url(url)) from None
            if not isinstance(document, dict) or not isinstance(document.get("value"), list):
                raise PullError(f"{table}: the answer has no 'value' list of rows, as OData gives",
                                location=public_url(url))
            return document

        retrying = Retrying(retry=retry_if_exception(lambda e: isinstance(e, Retry)), wait=wait,
                            stop=stop_after_attempt(self.settings.retries + 1) | stop_after_delay(self.settings.max_wait),
                            before_sleep=before_sleep, reraise=True)
        try:
            return retrying(attempt)
        except Retry as exc:
            raise PullError(f"{table}: {exc}, still after {self.settings.retries} retries; try again later, or raise "
                            "retries or max_wait under sources: epicor: in backflush.yaml", location=public_url(url)) from None

    def pages(self, table: str, columns: list[str], key: list[str], filters: list[str]) -> Iterator[list[dict]]:
        """The table's rows a page at a time, until an empty page (or no nextLink after the last page)."""
        url = self.settings.url(table)
        skip = 0
        next_link: str | None = None
        while True:
            if next_link:
                document = self._get(next_link, None, table)
            else:
                params = {"$top": str(self.settings.page_size), "$skip": str(skip), "$select": ",".join(columns)}
                if key:
                    params["$orderby"] = ",".join(key)
                if filters:
                    params["$filter"] = " and ".join(filters)
                document = self._get(url, params, table)
            rows = document["value"]
            if rows:
                yield rows
            next_link = document.get("@odata.nextLink")
            if not rows:
                return
            skip += len(rows)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_pages(path: Path, names: list[str], pages: Iterator[list[dict]],
                 progress: Callable[[int, int], None] | None) -> tuple[int, int]:
    """A table's pages written to one Parquet file as they come, every value as the text an export writes (True,
    12, ...): each page becomes Arrow at once and a row group is written every ROW_GROUP rows, so a table of millions
    of rows is never held as Python values. The rows and pages read."""
    schema = pa.schema([(name, pa.string()) for name in names])
    held: list[pa.RecordBatch] = []
    rows = pages_read = 0
    with pq.ParquetWriter(path, schema) as writer:
        for page in pages:
            held.append(pa.record_batch([pa.array([cell_text(row.get(name)) for row in page], pa.string())
                                         for name in names], schema=schema))
            pages_read += 1
            rows += len(page)
            if sum(batch.num_rows for batch in held) >= ROW_GROUP:
                writer.write_table(pa.Table.from_batches(held, schema), row_group_size=ROW_GROUP)
                held = []
            if progress:
                progress(rows, pages_read)
        if held or not rows:  # a table without rows is a file with its columns
            writer.write_table(pa.Table.from_batches(held, schema), row_group_size=ROW_GROUP)
    return rows, pages_read


def pull(settings: RestSettings, credentials: Credentials, wanted: dict[str, list[str]], keys: dict[str, list[str]],
         plants: dict[str, bool], target: Path, *, force: bool = False,
         progress: Callable[[str, int, int], None] | None = None,
         on_wait: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Read `wanted` (table -> columns) into a snapshot at `target`; returns its manifest. `keys`: each table's key
    (the page order); `plants`: whether a table has a Plant column (then the plant filter applies). The snapshot is
    made in a temporary folder beside `target` and renamed into place when whole: a pull that stops midway leaves
    no folder that looks complete."""
    if target.exists() and not force:
        raise DataError("already exists; pass --force to replace it with a new snapshot", location=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    client = Client(settings, credentials, on_wait)
    manifest: dict[str, Any] = {"format": SNAPSHOT_FORMAT, "source": public_url(settings.base_url),
                                "company": settings.company, "plants": list(settings.plants),
                                "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "tables": {}}
    try:
        for table, columns in sorted(wanted.items()):
            baq = settings.is_baq(table)
            names = [f"{table}_{c}" if baq else c for c in columns]
            order = [f"{table}_{c}" if baq else c for c in keys.get(table, [])]
            plant = f"{table}_Plant" if baq else "Plant"
            filters = []
            if settings.plants and plants.get(table):
                filters.append("(" + " or ".join(f"{plant} eq '{p.replace(chr(39), chr(39) * 2)}'"
                                                 for p in settings.plants) + ")")
            path = work / f"{table}.parquet"
            rows, pages = _write_pages(path, names, client.pages(table, names, order, filters),
                                       functools.partial(progress, table) if progress else None)
            manifest["tables"][table] = {"file": path.name, "url": public_url(settings.url(table)), "rows": rows,
                                         "pages": pages, "columns": names, "sha256": _sha256(path)}
        manifest["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if target.exists():  # --force: the old snapshot goes only once the new one is whole
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{int(time.time())}")
            target.rename(old)
            work.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        client.close()
    return manifest


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """A snapshot's manifest, or None for a folder that is not a snapshot."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the snapshot's manifest: {exc}", location=str(path)) from None
    return data if isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT else None
