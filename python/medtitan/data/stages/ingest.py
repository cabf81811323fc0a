"""ingest: read the sources into partitions of `partition_docs` documents (in input order, so
partitions depend on nothing else); a bad record goes to quarantine with its file, line and
reason, or, for lone surrogates with `[build] invalid_unicode = "replace"`, is repaired and
counted. Sequential, in the driver; its output is private (it holds raw text: private.py)."""

from __future__ import annotations

from collections import Counter

from medtitan.checksums import sha256_of
from medtitan.data.documents import ReadReport, read_documents
from medtitan.data.stages.base import Driver, StageCounts
from medtitan.data.workspace import write_jsonl

TASKS: dict = {}


def run(driver: Driver, results: dict) -> dict:
    """Read every source file in order into partitions; count documents, quarantined records and
    blank lines per file."""
    stage = driver.work.stage("ingest")
    for stale in stage.glob("part-*"):
        stale.unlink()  # ingest is sequential: a partial run is redone from the start
    partition, buffer, ordinal = 0, [], 0
    counts = StageCounts()
    quarantined: list[dict] = []
    files: list[dict] = []
    per_source: dict[str, int] = Counter()
    blank_lines = 0
    repaired_records = repaired_characters = 0
    invalid_unicode = driver.config.build.invalid_unicode

    def flush() -> None:
        nonlocal partition, buffer
        if buffer:
            write_jsonl(driver.work.part("ingest", partition), buffer)
            partition += 1
            buffer = []

    for source in driver.config.sources:
        for path in driver.config.source_files(source):
            report = ReadReport()
            files.append(
                {"source": source.name, "path": str(path), "bytes": path.stat().st_size, "sha256": sha256_of(path)}
            )
            documents = read_documents(
                [path],
                text_field=source.text_field,
                default_doc_type=source.doc_type,
                report=report,
                max_record_bytes=driver.config.build.max_doc_bytes,
                file_errors="quarantine",
                invalid_unicode=invalid_unicode,
            )
            for document in documents:
                buffer.append(
                    {
                        "n": ordinal,
                        "source": source.name,
                        "id": document.id,
                        "doc_type": source.doc_type,
                        "text": document.text,
                    }
                )
                ordinal += 1
                per_source[source.name] += 1
                if len(buffer) >= driver.config.build.partition_docs:
                    flush()
            for item in report.quarantined:
                quarantined.append({"source": source.name, **item.to_json(include_raw=True)})
            counts.kept += report.documents
            counts.quarantined += len(report.quarantined)
            blank_lines += report.blank_lines
            repaired_records += report.repaired_records
            repaired_characters += report.repaired_characters
            repaired = f", {report.repaired_records:,} repaired" if report.repaired_records else ""
            driver.log(
                f"ingest: {path} -> {report.documents:,} documents, {len(report.quarantined)} quarantined{repaired}"
            )
    flush()
    counts.into = counts.kept + counts.quarantined
    # With the raw lines' start: private (the stage folder is); _finish releases the rest.
    write_jsonl(stage / "quarantine.jsonl", quarantined)
    reasons = Counter(q["reason"].split(":")[0] for q in quarantined)
    # Only where repairs were asked for, so a default build's result keeps its old shape.
    repairs = (
        {"repaired": {"records": repaired_records, "lone_surrogates": repaired_characters}}
        if invalid_unicode == "replace"
        else {}
    )
    return counts.to_json(
        {f"quarantined: {k}": v for k, v in reasons.items()},
        partitions=partition,
        blank_lines=blank_lines,
        files=files,
        documents_by_source=dict(per_source),
        input_bytes=sum(f["bytes"] for f in files),
        **repairs,
    )
