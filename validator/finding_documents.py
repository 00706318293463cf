"""The findings' JSON documents, as the engine wrote them, held apart from the findings' other columns: in memory,
or past a size in a temporary Arrow file that formats read back a chunk at a time. A run with every rule on a large
site finds millions of findings whose documents are most of the report (2 GiB at 10M job lines,
docs/performance.md); held in memory they would set the run's peak, read from disk they cost a write and a read.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

import numpy
import pyarrow as pa
import pyarrow.ipc as ipc

DOCUMENT = "document"  # a finding's column: the position of its document among the run's documents
# an Arrow file compresses the documents' JSON text about fivefold, at a cost below the disk's
COMPRESSION = "lz4"


def positions(rows: pa.Array | pa.ChunkedArray) -> numpy.ndarray:
    """Arrow int64 or int32 values (no nulls) as numpy's of the same width, viewed from their buffer: Arrow's own
    conversion has pyarrow import pandas, ~0.13 s of a run that needs none."""
    array = rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows
    if array.type not in (pa.int64(), pa.int32()):
        raise TypeError(f"positions are int64 or int32 values, not {array.type}")
    kind = numpy.dtype(numpy.int64 if array.type == pa.int64() else numpy.int32)
    if not len(array):
        return numpy.zeros(0, kind)
    return numpy.frombuffer(array.buffers()[1], kind, len(array), array.offset * kind.itemsize)


def int64s(values: numpy.ndarray) -> pa.Array:
    """numpy int64 values as an Arrow array, from their bytes (positions)."""
    data = numpy.ascontiguousarray(values, numpy.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def in_order(count: int) -> pa.Array:
    """0, 1, ... count - 1 as Arrow int64 values: the positions of rows in their order."""
    return int64s(numpy.arange(count, dtype=numpy.int64))


def _no_texts(kind: pa.DataType) -> pa.Array:
    offsets = struct.pack("=q" if kind == pa.large_string() else "=i", 0)
    return pa.Array.from_buffers(kind, 0, [None, pa.py_buffer(offsets), pa.py_buffer(b"")])


class Documents:
    """The run's documents in the engine's order, as chunks: `chunk(i)` gives the i-th, `lengths` their rows."""

    def __init__(self, lengths: Sequence[int], chunk: Callable[[int], pa.Array], kind: pa.DataType,
                 held: int | None = None, on_disk: bool = False) -> None:
        """`held`: how many bytes of documents a spool made from these (marked ones: validator/gate.py) holds in
        memory before it writes them to a file (None: no bound); `on_disk`: these are read from a file."""
        self._ends = numpy.cumsum(numpy.asarray(lengths, numpy.int64)) if len(lengths) else numpy.zeros(0, numpy.int64)
        self._starts = self._ends - numpy.asarray(lengths, numpy.int64)
        self._chunk = chunk
        self.kind = kind
        self.held = held
        self.on_disk = on_disk
        self._last: tuple[int, pa.Array] | None = None  # the chunk read last: consecutive blocks often share one

    @classmethod
    def in_memory(cls, lines: pa.Array | pa.ChunkedArray, held: int | None = None) -> Documents:
        chunks = [c for c in (lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]) if len(c)]
        return cls([len(c) for c in chunks], chunks.__getitem__, lines.type, held)

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def spool(self) -> DocumentSpool:
        """An empty spool that holds as many bytes in memory as the one that made these."""
        return DocumentSpool(self.held)

    def _read(self, index: int) -> pa.Array:
        if self._last is None or self._last[0] != index:
            self._last = (index, self._chunk(index))
        return self._last[1]

    def chunks(self) -> Iterator[pa.Array]:
        """Every document, a chunk at a time, in their order."""
        for index in range(len(self._ends)):
            yield self._read(index)

    def take(self, rows: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The documents at these positions (ascending, as filters of the findings keep them), as one array: the
        chunks that hold them are read, sliced where the positions are consecutive."""
        wanted = positions(rows)
        if not len(wanted):
            return _no_texts(self.kind)
        first, last = int(wanted[0]), int(wanted[-1])
        if first < 0 or last >= len(self):
            raise IndexError(f"a finding's document {first if first < 0 else last} of {len(self)}")
        consecutive = last - first + 1 == len(wanted)
        pieces = []
        chunk = int(numpy.searchsorted(self._ends, first, "right"))
        while chunk < len(self._ends) and self._starts[chunk] <= last:
            start, end = int(self._starts[chunk]), int(self._ends[chunk])
            if consecutive:
                low, high = max(first, start), min(last + 1, end)
                pieces.append(self._read(chunk).slice(low - start, high - low))
            else:
                a, b = numpy.searchsorted(wanted, [start, end])
                if a < b:
                    pieces.append(self._read(chunk).take(int64s(wanted[a:b] - start)))
            chunk += 1
        return pieces[0] if len(pieces) == 1 else pa.concat_arrays(pieces)


class DocumentSpool:
    """Documents added a chunk at a time, held in memory up to `held` bytes (None: no bound), then written with
    every one after them to an Arrow file in the temporary folder (TMPDIR), a file without a name that goes when
    the run ends, however it ends."""

    def __init__(self, held: int | None) -> None:
        self.held = held
        self._chunks: list[pa.Array] = []
        self._lengths: list[int] = []
        self._bytes = 0
        self._kind: pa.DataType | None = None
        self._file: BinaryIO | None = None
        self._writer: ipc.RecordBatchFileWriter | None = None

    def add(self, lines: pa.Array | pa.ChunkedArray) -> None:
        for chunk in lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]:
            if not len(chunk):
                continue
            if self._kind is None:
                self._kind = chunk.type
            elif chunk.type != self._kind:
                chunk = chunk.cast(self._kind)
            self._lengths.append(len(chunk))
            if self._writer is not None:
                self._writer.write_batch(pa.record_batch([chunk], names=["line"]))
                continue
            self._chunks.append(chunk)
            self._bytes += chunk.nbytes
            if self.held is not None and self._bytes > self.held:
                self._to_disk()

    def _to_disk(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="backflush-findings-")  # noqa: SIM115 (read until the run ends)
        self._writer = ipc.new_file(pa.PythonFile(self._file, mode="w"), pa.schema([("line", self._kind)]),
                                    options=ipc.IpcWriteOptions(compression=COMPRESSION))
        for chunk in self._chunks:
            self._writer.write_batch(pa.record_batch([chunk], names=["line"]))
        self._chunks = []

    def done(self) -> Documents:
        kind = self._kind or pa.string()
        if self._writer is None:
            return Documents(self._lengths, self._chunks.__getitem__, kind, self.held)
        self._writer.close()
        assert self._file is not None
        self._file.flush()
        self._file.seek(0)
        reader = ipc.open_file(pa.PythonFile(self._file, mode="r"))
        return Documents(self._lengths, lambda index: reader.get_batch(index).column(0), kind, self.held, on_disk=True)
