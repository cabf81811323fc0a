"""Human-readable summaries of a build's report.json and manifest.json."""

from __future__ import annotations


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = [
        "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [header] + rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def format_stage_table(stages: dict) -> list[str]:
    rows = []
    for name, s in stages.items():
        reasons = ", ".join(f"{k} {v:,}" for k, v in s.get("reasons", {}).items() if not k.startswith("quarantined"))
        rows.append([name, f"{s['in']:,}", f"{s['kept']:,}", f"{s['removed']:,}", f"{s['quarantined']:,}", reasons])
    return _table(["stage", "in", "kept", "removed", "quarantined", "removed by reason"], rows)


def format_build_summary(report: dict) -> str:
    lines = format_stage_table(report["stages"])
    spans = report["stages"].get("deid", {}).get("spans", {})
    if spans:
        lines.append("de-identified spans: " + ", ".join(f"{k} {v:,}" for k, v in spans.items()))
    lines.append("")
    rows = [
        [
            name,
            s["doc_type"],
            f"{s['documents']:,}",
            f"{s['available_tokens']:,}",
            f"{s['achieved_tokens']:,}",
            f"{s['target_share']:.1%}",
            f"{s['achieved_share']:.1%}",
            f"{s['repeat_factor']:.2f}x",
        ]
        for name, s in report["sources"].items()
    ]
    lines += _table(["source", "doc_type", "docs", "tokens", "mixed tokens", "target", "achieved", "repeat"], rows)
    lines.append("")
    for split, info in report["splits"].items():
        lines.append(
            f"{split}: {info['samples']:,} samples, {info['tokens']:,} tokens in {len(info['shards'])} shard(s), "
            f"{info['dropped_tokens']:,} tail tokens dropped"
        )
    if report.get("validation_doc_types"):
        lines.append(
            "validation documents by doc_type: "
            + ", ".join(f"{k} {v}" for k, v in report["validation_doc_types"].items())
        )
    t = report["throughput"]
    per_core = t["mb_per_s"] / t["cores"] if t.get("mb_per_s") else 0.0
    lines.append(
        f"throughput: {t['input_mb']:.1f} MB in {t['seconds']:.1f} s = {t['mb_per_s'] or 0:.2f} MB/s "
        f"({per_core:.2f} MB/s per core, {t['cores']} cores)"
    )
    return "\n".join(lines)


def format_manifest_summary(manifest: dict) -> str:
    lines = [
        f"format {manifest['format_version']}, seq_len {manifest['seq_len']} (samples of {manifest['sample_len']}), "
        f"dtype {manifest['dtype']}, eos {manifest['eos_id']}, seed {manifest['seed']}",
        f"tokenizer {manifest['tokenizer']['path']} (sha256 {manifest['tokenizer']['sha256'][:12]}..., "
        f"vocab {manifest['tokenizer']['vocab_size']:,})",
    ]
    for split, info in manifest["splits"].items():
        lines.append(
            f"{split}: {info['samples']:,} samples, {info['tokens']:,} tokens, {len(info['shards'])} shard(s) in {info['folder']}/"
        )
    lines.append("")
    lines += format_stage_table(manifest["stages"])
    lines.append("")
    rows = [
        [name, s["doc_type"], f"{s['achieved_tokens']:,}", f"{s['target_share']:.1%}", f"{s['achieved_share']:.1%}"]
        for name, s in manifest["sources"].items()
    ]
    lines += _table(["source", "doc_type", "tokens", "target", "achieved"], rows)
    lines.append(f"inputs: {len(manifest['inputs'])} files; outputs: {len(manifest['files'])} files with sha256")
    return "\n".join(lines)


def format_filter_report(
    report: dict,
    examples: list[dict],
    reason: str | None = None,
    doc_type: str | None = None,
    per_group: int = 10,
    width: int = 160,
) -> str:
    """What each filter removed, per doc_type, the perplexity histogram per doc_type, and up to
    `per_group` examples of each (reason, doc_type) with their scores: thresholds are tuned by
    looking at these."""
    stage = report["stages"]["filter"]
    filters = report.get("filters") or {}
    by_type = filters.get("removed_by_doc_type") or {}
    doc_types = sorted(
        {t for counts in by_type.values() for t in counts} | set(filters.get("perplexity_log10_histogram") or {})
    )
    lines = [f"filter stage: {stage['in']:,} documents in, {stage['kept']:,} kept, {stage['removed']:,} removed", ""]
    if by_type:
        rows = [
            [name] + [f"{by_type[name].get(t, 0):,}" for t in doc_types] + [f"{stage['reasons'].get(name, 0):,}"]
            for name in sorted(by_type)
        ]
        lines += _table(["removed by"] + doc_types + ["total"], rows)
    else:
        lines.append("no document was removed")
    histograms = filters.get("perplexity_log10_histogram") or {}
    edges = filters.get("perplexity_log10_edges") or []
    for name, counts in sorted(histograms.items()):
        if doc_type and name != doc_type:
            continue
        total = sum(counts) or 1
        lines += ["", f"perplexity under the reference model, {name} ({sum(counts):,} documents):"]
        last = max((i for i, c in enumerate(counts) if c), default=0)
        first = min((i for i, c in enumerate(counts) if c), default=0)
        for i in range(first, last + 1):
            upper = f"< {10 ** edges[i + 1]:>9,.0f}" if i + 1 < len(edges) else f">= {10 ** edges[i]:>8,.0f}"
            bar = "#" * round(50 * counts[i] / total)
            lines.append(f"  {upper}  {counts[i]:>7,}  {bar}")
    shown = [
        e
        for e in examples
        if (reason is None or e["reason"] == reason) and (doc_type is None or e["doc_type"] == doc_type)
    ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for example in shown:
        groups.setdefault((example["reason"], example["doc_type"]), []).append(example)
    for (name, kind), group in sorted(groups.items()):
        lines += ["", f"{name}, {kind}: {by_type.get(name, {}).get(kind, len(group)):,} removed; examples:"]
        for example in group[:per_group]:
            text = " ".join(example["text"].split())
            text = text if len(text) <= width else text[: width - 3] + "..."
            lines.append(f"  [{example['detail']}] {example['source']}/{example['id']}: {text}")
    return "\n".join(lines)
