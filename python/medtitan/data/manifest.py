"""The build's released outputs, written once every stage is done: what was removed and
quarantined and why, the report (counts per stage, sources, splits) and the manifest (inputs,
config, tokenizer and the sha256 of every released file). Raw text never reaches them
(private.py says what stays private).
"""

from __future__ import annotations

from medtitan.checksums import sha256_of
from medtitan.data.private import PRIVATE_FOLDER, PROBE_PAIRS_FILE, UNLISTED_RELEASED, WORK_FOLDER
from medtitan.data.stages import STAGES
from medtitan.data.stages.base import Driver, peak_rss_mb
from medtitan.data.workspace import read_jsonl, write_json, write_jsonl

FORMAT_VERSION = 1
# What the released quarantine.jsonl keeps of each bad record (plus the sha256 of its line).
RELEASED_QUARANTINE_KEYS = ("source", "path", "line", "reason")
FILTER_EXAMPLES_FILE = "filter_examples.jsonl"


def write_release(driver: Driver, results: dict, seconds: float, executor: str, cores: int) -> dict:
    """Write the released outputs from the stages' results: removed.jsonl, quarantine.jsonl (no
    raw text), decontamination_audit.jsonl, report.json (byte-reproducible), timing.json (not),
    and manifest.json last, with the size and sha256 of every released file; the probe pairs go
    to the private folder. Returns the report with its timing."""
    build = driver.config.build
    quarantine = driver.work.stage("ingest") / "quarantine.jsonl"
    removed = []
    for partition in range(results["ingest"]["partitions"]):
        removed += read_jsonl(driver.work.part("filter", partition, ".removed.jsonl"))
    removed += read_jsonl(driver.work.stage("dedup") / "removed.jsonl")
    audit = read_jsonl(driver.work.stage("decontaminate") / "audit.jsonl")
    removed += [
        {k: r[k] for k in ("n", "source", "id", "reason")} | {"detail": f"{r['eval_id']} ({r['overlap']:.0%})"}
        for r in audit
    ]
    removed.sort(key=lambda r: r["n"])
    write_jsonl(driver.output / "removed.jsonl", removed)
    # Released: where each bad record is and why, and its line's hash, never its text.
    write_jsonl(
        driver.output / "quarantine.jsonl",
        [
            {k: q.get(k) for k in RELEASED_QUARANTINE_KEYS} | {"sha256": q.get("sha256") or None}
            for q in read_jsonl(quarantine)
        ],
    )
    write_jsonl(driver.output / "decontamination_audit.jsonl", audit)
    # A seeded sample of what each filter removed, per doc_type, with scores and the start of the
    # de-identified text (the filter stage runs after deid): what `filter-report` shows.
    write_jsonl(driver.output / FILTER_EXAMPLES_FILE, read_jsonl(driver.work.stage("filter") / "examples.jsonl"))
    probes = driver.work.stage("deid") / "probe_pairs.jsonl"
    if driver.config.deid.probe_pairs > 0 and probes.exists():
        # Real PHI: under private/ (0700, the file 0600), outside the manifest, never released.
        write_jsonl(
            driver.work.private_folder() / PROBE_PAIRS_FILE,
            [{k: v for k, v in r.items() if k != "order"} for r in read_jsonl(probes)],
        )
    elif (driver.work.private / PROBE_PAIRS_FILE).exists():
        (driver.work.private / PROBE_PAIRS_FILE).unlink()  # an earlier build's: not asked for now

    stages = {
        name: {k: v for k, v in results[name].items() if k in ("in", "kept", "removed", "quarantined", "reasons")}
        for name in ("ingest", "deid", "filter", "dedup", "decontaminate", "mix")
    }
    stages["deid"]["spans"] = results["deid"]["spans"]
    if "repaired" in results["ingest"]:  # [build] invalid_unicode = "replace"
        stages["ingest"]["repaired"] = results["ingest"]["repaired"]
    stages["deid"]["engine"] = {key: results["deid"].get(key) for key in ("engine", "model_sha256", "replace")}
    mix = results["mix"]
    input_bytes = results["ingest"]["input_bytes"]
    report = {
        "format_version": FORMAT_VERSION,
        "stages": stages,
        "sources": mix["sources"],
        "splits": results["write"]["splits"]
        | {
            split: results["write"]["splits"][split]
            | {
                "dropped_tokens": results["pack"]["splits"][split]["dropped_tokens"],
                "documents": results["pack"]["splits"][split]["documents"],
            }
            for split in ("train", "validation")
        },
        "validation_doc_types": mix["validation_doc_types"],
        "dedup": {
            k: v
            for k, v in results["dedup"].items()
            if k not in ("in", "kept", "removed", "quarantined", "reasons", "seconds", "driver_peak_rss_mb")
        },
        "decontamination": {
            k: results["decontaminate"][k] for k in ("eval_samples", "eval_samples_too_short", "ngram", "threshold")
        },
        "filters": {
            k: results["filter"].get(k)
            for k in ("removed_by_doc_type", "perplexity_log10_edges", "perplexity_log10_histogram")
        },
        "input_mb": round(input_bytes / 1e6, 3),
    }
    write_json(driver.output / "report.json", report)
    # Timings differ from run to run, so they live apart from the (byte-reproducible)
    # report and are not listed in the manifest.
    timing = {
        "seconds": round(seconds, 2),
        "stage_seconds": {s: results[s].get("seconds") for s in STAGES},
        "driver_peak_rss_mb_after": {s: results[s].get("driver_peak_rss_mb") for s in STAGES},
        "input_mb": round(input_bytes / 1e6, 3),
        "cores": cores,
        "mb_per_s": round(input_bytes / 1e6 / seconds, 3) if seconds else None,
        "executor": executor,
        "driver_peak_rss_mb": round(peak_rss_mb(), 1),
    }
    write_json(driver.output / "timing.json", timing)
    report = report | {"throughput": timing}

    files = {}
    for path in sorted(driver.output.rglob("*")):
        relative = path.relative_to(driver.output)
        if (
            path.is_file()
            and relative.parts[0] not in (WORK_FOLDER, PRIVATE_FOLDER)
            and path.name not in UNLISTED_RELEASED
        ):
            files[str(relative)] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
    manifest = {
        "format_version": FORMAT_VERSION,
        "tokenizer": {
            "path": str(driver.config.tokenizer),
            "sha256": sha256_of(driver.config.tokenizer),
            "vocab_size": driver.tokenizer.vocab_size,
            "eos_id": driver.tokenizer.eos_id,
            "bos_id": driver.tokenizer.bos_id,
        },
        "eos_id": driver.tokenizer.eos_id,
        "dtype": results["write"]["dtype"],
        "seq_len": build.seq_len,
        "sample_len": build.seq_len + 1,
        "seed": build.seed,
        "config": driver.config.to_json(),
        "inputs": results["ingest"]["files"],
        "sources": {
            name: {k: v[k] for k in ("doc_type", "achieved_tokens", "achieved_share", "target_share")}
            for name, v in mix["sources"].items()
        },
        "stages": {
            name: {k: s[k] for k in ("in", "kept", "removed", "quarantined", "reasons")} for name, s in stages.items()
        },
        "splits": {split: {k: v for k, v in info.items()} for split, info in results["write"]["splits"].items()},
        "files": files,
    }
    write_json(driver.output / "manifest.json", manifest)
    return report
