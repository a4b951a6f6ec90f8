"""The records of an offline W&B run, read back from its `run-<id>.wandb` file.

wandb 0.31 writes the file from its Go core and ships no Python reader; the format is
LevelDB's log (a `:W&B` header, 32 KiB blocks, each record `crc32, length, type` + bytes,
split over blocks as FIRST/MIDDLE/LAST) holding wandb's own protobuf `Record`s, parsed here with
wandb's generated classes.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

HEADER = b":W&B\xe1\xbe\x00"  # ident, magic 0xBEE1, version 0
BLOCK, FULL, LAST = 32768, 1, 4


def records(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    assert data[:len(HEADER)] == HEADER, data[:len(HEADER)]
    pos, part, out = len(HEADER), b"", []
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # a block's tail too short for a record header: padding
            pos += BLOCK - pos % BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        part += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(part)
            out.append(record)
            part = b""
    return out


def finished_records(path: Path, timeout: float = 60.0) -> list:
    """The records of a run file once it ends with the run's `exit` record. `wandb.finish()`
    returns before wandb-core's writer has flushed the file (a clean-clone CI run read a file
    holding no `run` record yet; read again later, it held all 16 records), so wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = records(path)
        except Exception:  # header or a record still being written
            found = []
        if found and found[-1].WhichOneof("record_type") == "exit":
            return found
        time.sleep(0.1)
    return records(path)  # not finished in time: what it holds (the test's asserts say what)


def offline_runs(wandb_dir: Path) -> list[tuple[dict, list[dict]]]:
    """Each offline run under `<dir>/wandb/`: ({id, name, project, group}, history rows)."""
    runs = []
    for path in sorted(Path(wandb_dir).glob("offline-run-*/run-*.wandb")):
        info, history = {}, []
        for record in finished_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                r = record.run
                info = {"id": r.run_id, "name": r.display_name, "project": r.project,
                        "group": r.run_group}
            elif kind == "history":
                history.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                                for item in record.history.item})
        runs.append((info, history))
    return runs
