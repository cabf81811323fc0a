"""The files of the build's keyed shuffles (dedup, mix): a mapper writes its rows sorted by
destination, as one Arrow IPC file, with the row range of each destination beside it; a reducer
memory-maps every mapper's file and takes its own slice. No task holds the whole corpus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medtitan.data.workspace import temporary_name


def write_routed(path: Path, columns: dict, route: np.ndarray, destinations: int) -> None:
    """Rows sorted (stably) by destination, as an Arrow IPC file, plus `path`.offsets.npy: the
    row range of each destination. Readers memory-map the file and take their slice. Columns are
    numpy arrays, Arrow arrays, or lists of strings."""
    import pyarrow as pa

    order = np.argsort(route, kind="stable")
    offsets = np.searchsorted(route[order], np.arange(destinations + 1)).astype(np.int64)
    arrays = {
        name: values
        if isinstance(values, pa.Array)
        else pa.array(values, type=pa.string() if isinstance(values, list) else None)
        for name, values in columns.items()
    }
    table = pa.table(arrays).take(pa.array(order))  # the reordering runs in Arrow, not per row in Python
    tmp = temporary_name(path)
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    offsets_tmp = temporary_name(path.with_name(path.name + ".offsets"), ".npy")
    np.save(offsets_tmp, offsets)
    offsets_tmp.replace(path.with_name(path.name + ".offsets.npy"))
    tmp.replace(path)


def read_routed_table(paths: list[Path], destination: int):
    """The rows routed to `destination` from every file in `paths`, as one Arrow table (None
    when there are none); only those rows are read from the memory-mapped files."""
    import pyarrow as pa

    pieces = []
    for path in paths:
        offsets = np.load(path.with_name(path.name + ".offsets.npy"))
        start, end = int(offsets[destination]), int(offsets[destination + 1])
        if end > start:
            # Copy the slice out and unmap the file: a slice kept as a view would pin the
            # mapping (about 0.1 MB a file), and a reducer reads one file per mapper.
            with pa.memory_map(str(path)) as source:
                view = pa.ipc.open_file(source).read_all().slice(start, end - start)
                pieces.append(pa.table({name: _copied(view.column(name)) for name in view.column_names}))
    return pa.concat_tables(pieces) if pieces else None


def _copied(column):
    """The values of a (one-chunk) Arrow column in new buffers."""
    import pyarrow as pa

    return pa.concat_arrays([column.chunk(0), pa.array([], type=column.type)])


def read_routed(paths: list[Path], destination: int) -> dict[str, list]:
    """As read_routed_table, as Python lists by column ({} when there are no rows)."""
    table = read_routed_table(paths, destination)
    return table.to_pydict() if table is not None else {}
