"""Where raw (not yet de-identified) text may rest in a build output, and the check that it
rests nowhere else.

A build's output folder holds two kinds of files:

    released   everything outside OUTPUT/private/: shards, manifest.json, report.json,
               removed.jsonl, quarantine.jsonl, decontamination_audit.jsonl, timing.json, and
               OUTPUT/work/ (the resume state of the stages after de-identification) while the
               build keeps it. None of these may hold raw text: whoever copies the folder to a
               training cluster copies them.
    private    OUTPUT/private/ (mode 0700, every folder below it 0700, every file 0600): the
               work copies of the stages that see raw text (private/work/ingest, private/work/
               deid, whose partition stats carry the probe pairs' secrets), the raw lines of
               quarantined records (in private/work/ingest), and the PHI probe pairs kept for
               `medtitan eval phi-probe`. Never listed in, nor hashed into, the manifest.

A file written into a private folder is created 0600 by `workspace.write_atomic` because its
folder is private (no group or other permission bits), so every writer, the driver or a task on
any executor, gets the right mode without a flag. `at_rest_problems` is what
`medtitan-data inspect --verify` adds to the checksum checks.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

PRIVATE_FOLDER = "private"
WORK_FOLDER = "work"
# The stages whose work copies can hold raw text: ingest (the sources as read, and the raw
# lines of the quarantined records) and deid (its per-partition stats carry the probe pairs'
# secrets). Their folders live under OUTPUT/private/work/, the other stages' under OUTPUT/work/.
PRIVATE_STAGES = ("ingest", "deid")
PROBE_PAIRS_FILE = "phi_probe_pairs.jsonl"
# Record keys that carry raw text in the build's own files: a quarantined record's raw line, a
# probe pair's scrubbed PHI.
RAW_KEYS = ("raw", "secret")
# Never listed in the manifest, yet released: the manifest itself and the run's timings.
UNLISTED_RELEASED = ("manifest.json", "timing.json")


def is_private(path: Path) -> bool:
    """Only its owner may read it: no group or other permission bits."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def make_private_folder(path: Path, top: Path) -> Path:
    """Create `path` (inside `top`) and every folder from `top` down to it with mode 0700.
    chmod explicitly: mkdir's mode is masked by the umask, and a folder that already exists
    (an older build's) keeps whatever mode it had."""
    parts = path.relative_to(top).parts
    for folder in [top] + [top.joinpath(*parts[: i + 1]) for i in range(len(parts))]:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) != 0o700:
            os.chmod(folder, 0o700)
    return path


def _first_record(path: Path, limit: int = 1 << 20) -> dict | None:
    """The first record of a JSONL file (read up to `limit` bytes), None when it has none."""
    try:
        with open(path, "rb") as handle:
            line = handle.readline(limit)
        value = json.loads(line) if line.strip() else None
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def at_rest_problems(output: str | os.PathLike) -> list[str]:
    """Raw text where it must not be in a build output, and a private folder open to others;
    each problem names the file. Empty: OK.

    Outside OUTPUT/private/: a work copy of a stage that sees raw text (OUTPUT/work/ingest or
    work/deid, as older builds left them), probe pairs, a JSONL file whose records carry raw
    text (a quarantine with raw lines, probe pairs), and any file the manifest does not list
    outside OUTPUT/work/ (the manifest is the release's bill of materials: a file it does not
    list, such as a copied raw partition, cannot be vouched for). Inside it: a folder wider
    than 0700 or a file wider than 0600.
    """
    output = Path(output)
    problems = []
    private = output / PRIVATE_FOLDER
    if private.is_symlink() or (private.exists() and not private.is_dir()):
        problems.append(f"{private}: not a folder; the private folder must be a real folder of mode 0700")
    elif private.is_dir():
        for folder in [private] + sorted(p for p in private.rglob("*") if p.is_dir()):
            if not is_private(folder):
                problems.append(
                    f"{folder}: private folder of mode {stat.S_IMODE(folder.stat().st_mode):04o}, wider than 0700"
                )
        for path in sorted(p for p in private.rglob("*") if not p.is_dir()):
            if path.is_symlink():
                problems.append(f"{path}: a link in the private folder (its target may be readable by others)")
            elif not is_private(path):
                problems.append(
                    f"{path}: private file of mode {stat.S_IMODE(path.stat().st_mode):04o}, wider than 0600"
                )

    manifest_path = output / "manifest.json"
    try:
        listed = set(json.loads(manifest_path.read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        return problems + [f"{manifest_path}: cannot read the list of released files ({error})"]
    for path in sorted(output.rglob("*")):
        relative = path.relative_to(output)
        if relative.parts[0] == PRIVATE_FOLDER or path.is_dir():
            continue
        name = str(relative)
        in_work = relative.parts[0] == WORK_FOLDER
        if in_work and len(relative.parts) > 2 and relative.parts[1] in PRIVATE_STAGES:
            problems.append(f"{path}: raw work copy of the {relative.parts[1]} stage outside {private}")
        elif path.name in (PROBE_PAIRS_FILE, "probe_pairs.jsonl"):
            problems.append(f"{path}: PHI probe pairs outside {private}")
        elif path.name.endswith(".jsonl") and any(key in (_first_record(path) or {}) for key in RAW_KEYS):
            problems.append(f"{path}: records carry raw text ({'/'.join(RAW_KEYS)}); it belongs in {private}")
        elif not in_work and name not in listed and name not in UNLISTED_RELEASED:
            problems.append(
                f"{path}: not listed in the manifest, outside {private}: a released file nobody vouched "
                "for (may hold raw text)"
            )
    return problems
