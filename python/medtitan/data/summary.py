"""Human-readable summaries of a build's report.json and manifest.json."""

from __future__ import annotations


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [header] + rows]
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
    rows = [[name, s["doc_type"], f"{s['documents']:,}", f"{s['available_tokens']:,}", f"{s['achieved_tokens']:,}",
             f"{s['target_share']:.1%}", f"{s['achieved_share']:.1%}", f"{s['repeat_factor']:.2f}x"]
            for name, s in report["sources"].items()]
    lines += _table(["source", "doc_type", "docs", "tokens", "mixed tokens", "target", "achieved", "repeat"], rows)
    lines.append("")
    for split, info in report["splits"].items():
        lines.append(f"{split}: {info['samples']:,} samples, {info['tokens']:,} tokens in {len(info['shards'])} shard(s), "
                     f"{info['dropped_tokens']:,} tail tokens dropped")
    if report.get("validation_doc_types"):
        lines.append("validation documents by doc_type: " + ", ".join(f"{k} {v}" for k, v in report["validation_doc_types"].items()))
    t = report["throughput"]
    per_core = t["mb_per_s"] / t["cores"] if t.get("mb_per_s") else 0.0
    lines.append(f"throughput: {t['input_mb']:.1f} MB in {t['seconds']:.1f} s = {t['mb_per_s'] or 0:.2f} MB/s "
                 f"({per_core:.2f} MB/s per core, {t['cores']} cores)")
    return "\n".join(lines)


def format_manifest_summary(manifest: dict) -> str:
    lines = [f"format {manifest['format_version']}, seq_len {manifest['seq_len']} (samples of {manifest['sample_len']}), "
             f"dtype {manifest['dtype']}, eos {manifest['eos_id']}, seed {manifest['seed']}",
             f"tokenizer {manifest['tokenizer']['path']} (sha256 {manifest['tokenizer']['sha256'][:12]}..., "
             f"vocab {manifest['tokenizer']['vocab_size']:,})"]
    for split, info in manifest["splits"].items():
        lines.append(f"{split}: {info['samples']:,} samples, {info['tokens']:,} tokens, {len(info['shards'])} shard(s) in {info['folder']}/")
    lines.append("")
    lines += format_stage_table(manifest["stages"])
    lines.append("")
    rows = [[name, s["doc_type"], f"{s['achieved_tokens']:,}", f"{s['target_share']:.1%}", f"{s['achieved_share']:.1%}"]
            for name, s in manifest["sources"].items()]
    lines += _table(["source", "doc_type", "tokens", "target", "achieved"], rows)
    lines.append(f"inputs: {len(manifest['inputs'])} files; outputs: {len(manifest['files'])} files with sha256")
    return "\n".join(lines)
