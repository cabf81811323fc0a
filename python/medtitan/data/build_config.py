"""The build configuration (TOML), validated up front with errors that name the file and key.

See data_configs/demo.toml and the contract in ../shared/DESIGN.md. Relative paths resolve
against the config file's folder.
"""

from __future__ import annotations

import glob
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


class ConfigError(ValueError):
    """A build config that cannot be used; the message names the file and the key."""


@dataclass
class SourceConfig:
    name: str
    paths: list[str]  # files or globs: .jsonl, .jsonl.gz, .jsonl.zst, .parquet
    doc_type: str
    weight: float = 1.0  # target share of training tokens (normalized over sources)
    text_field: str = "text"


@dataclass
class BuildSection:
    output: str = "out/build"
    tokenizer: str = "out/tokenizer/tokenizer.model"
    seq_len: int = 4096  # samples are seq_len + 1 tokens
    seed: int = 1234
    validation_tokens: int = 100_000
    total_tokens: int | None = None  # training-token budget of the mix; None: all available tokens
    partition_docs: int = 20_000  # documents per partition (the unit of work and of resume)
    max_doc_bytes: int = 16 * 1024 * 1024  # larger records are quarantined, not loaded downstream
    shard_bytes: int = 1024 * 1024 * 1024  # cap on each .bin file
    workers: int | None = None  # threads for the Rust stages; None: all cores. Never changes output.
    # Keep the work copies (OUTPUT/work, OUTPUT/private/work: the resume state, raw text in the
    # private part) after a build succeeds. false: a successful build deletes them; a failed or
    # killed one always keeps them to resume from. Never changes the output.
    keep_work: bool = False
    # A record holding a lone surrogate ("\ud800": legal JSON, common in scraped text; UTF-8
    # cannot encode it): "quarantine" it, or "replace" each by U+FFFD and keep the record (the
    # repairs are counted in the ingest stage's result).
    invalid_unicode: str = "quarantine"


@dataclass
class DeidSection:
    enabled: bool = True
    # "default": the Rust rules + lexicons + the learned name/location tagger; "rules": the rules
    # alone; or "package.module:attr" (any object with deidentify_batch(texts)).
    engine: str = "default"
    # The tagger model of the "default" engine: a file written by `medtitan-data train-deid`
    # (relative to this config's folder), or None for the one shipped in the package.
    model: str | None = None
    # "placeholder": [NAME], [DATE], ...; "surrogate": realistic made-up values, the same name
    # replaced by the same surrogate within a document and dates shifted by one per-document
    # offset (intervals survive). Seeded by build.seed.
    replace: str = "placeholder"
    # Keep up to this many (prefix, secret) pairs of scrubbed PHI, a seeded sample, in
    # OUTPUT/private/phi_probe_pairs.jsonl for `medtitan eval phi-probe`. The file holds real
    # PHI: keep it with the raw data, never ship it. 0: none.
    probe_pairs: int = 0
    probe_types: list[str] = field(default_factory=lambda: ["SSN", "MRN", "PHONE", "EMAIL", "FAX", "ADDRESS"])
    probe_prefix_chars: int = 160  # context before the secret used as the attack prompt


# Gopher's repetition thresholds (Rae et al. 2021, appendix A), for reference: the most each
# score of rust/filters/repetition.rs may reach. Tuned for web text, they remove 10% of clean
# clinical notes (templated phrases repeat: "no evidence of", "within normal limits").
GOPHER_REPETITION = {
    "dup_line_frac": 0.30,
    "dup_para_frac": 0.30,
    "dup_line_char_frac": 0.20,
    "dup_para_char_frac": 0.20,
    "top_2gram_char_frac": 0.20,
    "top_3gram_char_frac": 0.18,
    "top_4gram_char_frac": 0.16,
    "dup_5gram_char_frac": 0.15,
    "dup_6gram_char_frac": 0.14,
    "dup_7gram_char_frac": 0.13,
    "dup_8gram_char_frac": 0.12,
    "dup_9gram_char_frac": 0.11,
    "dup_10gram_char_frac": 0.10,
}
# The defaults: Gopher's line and paragraph thresholds; the n-gram ones set on the training 90% of
# ../shared/data (clinical notes, radiology, PubMed, general English) and a garbage set made from
# it (seed 1), never on the held-out part benchmarks/filter_quality.py reports: they remove 0.03%
# of those clinical notes, 0.18% of radiology reports, no PubMed abstract, and every
# repeated-lines and boilerplate item.
MEDICAL_REPETITION = GOPHER_REPETITION | {
    "top_3gram_char_frac": 0.22,
    "top_4gram_char_frac": 0.25,
    "dup_5gram_char_frac": 0.60,
    "dup_6gram_char_frac": 0.60,
    "dup_7gram_char_frac": 0.60,
    "dup_8gram_char_frac": 0.60,
    "dup_9gram_char_frac": 0.60,
    "dup_10gram_char_frac": 0.60,
}
# The filters a doc_type can be exempted from ([filters] exempt), in the order they are applied.
FILTER_NAMES = ("min_tokens", "non_alphanumeric", "mojibake", "language", "repetition", "unknown_words", "perplexity")


@dataclass
class FiltersSection:
    min_tokens: int = 50
    max_non_alnum_ratio: float = 0.5
    # Language identification (medtitan/quality/langid.py): a document whose language is not
    # listed, or is named with less confidence, is removed. []: off.
    languages: list[str] = field(default_factory=lambda: ["en"])
    min_language_confidence: float = 0.5
    # Text decoded with the wrong codec (UTF-8 read as cp1252 or latin-1: "â€™", "Ã©"): a document
    # with more of its telltale sequences than this is removed (medtitan/quality/mojibake.py).
    max_mojibake_sequences: int = 2
    # Per score, the most it may reach (MEDICAL_REPETITION's keys); keys left out keep the default.
    repetition: dict[str, float] = field(default_factory=dict)
    # A reference n-gram LM (medtitan-data train-reference-lm) or a plug-in scorer
    # ("package.module:attr": callable(texts) -> scores): a document above max_perplexity is
    # removed; for a doc_type the LM was calibrated on, above the larger of max_perplexity and
    # perplexity_calibration_factor x that doc_type's 99th percentile (clean PubMed is naturally
    # more perplexing than clinical notes).
    reference_lm: str | None = None
    perplexity_scorer: str | None = None
    max_perplexity: float | None = None
    perplexity_calibration_factor: float | None = 1.5
    # With reference_lm: a document whose share of words outside the LM's training vocabulary
    # passes this is removed (OCR-style noise); for a calibrated doc_type, the bar is raised to its
    # 99th percentile + 0.04 when that is higher. None: off.
    max_unknown_word_fraction: float | None = 0.17
    # doc_type -> the filters it is exempt from (FILTER_NAMES), e.g. short-by-nature code lists:
    # icd10_descriptions = ["min_tokens", "perplexity"].
    exempt: dict[str, list[str]] = field(default_factory=dict)

    def repetition_thresholds(self) -> dict[str, float]:
        return MEDICAL_REPETITION | self.repetition


@dataclass
class DedupSection:
    enabled: bool = True
    threshold: float = 0.8
    num_perm: int = 128
    ngram: int = 5
    min_probability: float = 0.99  # P(candidate | J = threshold) the LSH banding must reach
    seed: int = 1
    # Shuffle buckets of the keyed dedup (exact-hash and band-key buckets); 0: one per input
    # partition, which keeps each bucket task's memory flat as the corpus grows.
    buckets: int = 0


@dataclass
class DecontaminationSection:
    eval_sets: list[str] = field(default_factory=list)
    ngram: int = 13
    threshold: float = 0.7
    min_words: int = 5  # shorter evaluation samples are too generic to test (reported)
    text_field: str = "text"


@dataclass
class BuildConfig:
    path: Path
    build: BuildSection
    sources: list[SourceConfig]
    deid: DeidSection
    filters: FiltersSection
    dedup: DedupSection
    decontamination: DecontaminationSection

    @property
    def base(self) -> Path:
        return self.path.parent

    def resolve(self, value: str | os.PathLike) -> Path:
        path = Path(value)
        return Path(os.path.normpath(path if path.is_absolute() else self.base / path))

    @property
    def output(self) -> Path:
        return self.resolve(self.build.output)

    @property
    def tokenizer(self) -> Path:
        return self.resolve(self.build.tokenizer)

    def source_files(self, source: SourceConfig) -> list[Path]:
        files: list[Path] = []
        for pattern in source.paths:
            resolved = str(self.resolve(pattern))
            matches = sorted(glob.glob(resolved)) if glob.has_magic(resolved) else [resolved]
            if not matches:
                raise ConfigError(f"{self.path}: source {source.name!r}: {pattern!r} matches no file")
            files += [Path(m) for m in matches]
        for file in files:
            if not file.is_file():
                raise ConfigError(f"{self.path}: source {source.name!r}: {file} does not exist")
        return files

    def source_files_exist(self) -> list[bool]:
        """Whether each source has at least one file (without raising, unlike source_files)."""
        found = []
        for source in self.sources:
            patterns = [str(self.resolve(p)) for p in source.paths]
            found.append(all(glob.glob(p) if glob.has_magic(p) else Path(p).is_file() for p in patterns))
        return found

    def eval_files(self) -> list[Path]:
        files = [self.resolve(p) for p in self.decontamination.eval_sets]
        for file in files:
            if not file.is_file():
                raise ConfigError(f"{self.path}: decontamination.eval_sets: {file} does not exist")
        return files

    def to_json(self) -> dict:
        """Everything that decides the output's content (workers, keep_work and the output
        folder itself excluded: they never change it)."""
        build = asdict(self.build)
        build.pop("workers")
        build.pop("output")
        build.pop("keep_work")
        if build["invalid_unicode"] == "quarantine":
            # The behaviour of every build before the key existed: left out so their manifests
            # and resume fingerprints stay as they were. "replace" changes the output: recorded.
            build.pop("invalid_unicode")
        return {
            "build": build,
            "sources": [asdict(s) for s in self.sources],
            "deid": asdict(self.deid),
            "filters": asdict(self.filters),
            "dedup": asdict(self.dedup),
            "decontamination": asdict(self.decontamination),
        }


def _section(cls, table: dict, where: str):
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known keys: {sorted(known)}")
    try:
        return cls(**table)
    except TypeError as error:
        raise ConfigError(f"{where}: {error}") from error


def load_build_config(path: str | os.PathLike, output: str | None = None, workers: int | None = None) -> BuildConfig:
    path = Path(path).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such build config") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    unknown = sorted(set(data) - {"build", "sources", "deid", "filters", "dedup", "decontamination"})
    if unknown:
        raise ConfigError(f"{path}: unknown sections {unknown}")
    build = _section(BuildSection, data.get("build", {}), f"{path} [build]")
    if output is not None:
        build.output = str(Path(output).resolve())
    if workers is not None:
        build.workers = workers
    raw_sources = data.get("sources", [])
    if not raw_sources:
        raise ConfigError(f"{path}: no [[sources]]")
    sources = [_section(SourceConfig, table, f"{path} [[sources]] #{i + 1}") for i, table in enumerate(raw_sources)]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: source names must be unique, got {names}")
    config = BuildConfig(
        path=path,
        build=build,
        sources=sources,
        deid=_section(DeidSection, data.get("deid", {}), f"{path} [deid]"),
        filters=_section(FiltersSection, data.get("filters", {}), f"{path} [filters]"),
        dedup=_section(DedupSection, data.get("dedup", {}), f"{path} [dedup]"),
        decontamination=_section(DecontaminationSection, data.get("decontamination", {}), f"{path} [decontamination]"),
    )
    _validate(config)
    return config


def _validate(config: BuildConfig) -> None:
    where = config.path
    b = config.build
    checks = [
        (b.seq_len > 0, "build.seq_len must be positive"),
        (b.validation_tokens >= 0, "build.validation_tokens must be >= 0"),
        (b.partition_docs > 0, "build.partition_docs must be positive"),
        (b.max_doc_bytes > 0, "build.max_doc_bytes must be positive"),
        (b.shard_bytes > 0, "build.shard_bytes must be positive"),
        (b.total_tokens is None or b.total_tokens > 0, "build.total_tokens must be positive"),
        (b.workers is None or b.workers > 0, "build.workers must be positive"),
        (isinstance(b.keep_work, bool), "build.keep_work must be true or false"),
        (b.invalid_unicode in ("quarantine", "replace"), 'build.invalid_unicode must be "quarantine" or "replace"'),
        (config.deid.replace in ("placeholder", "surrogate"), 'deid.replace must be "placeholder" or "surrogate"'),
        (all(s.weight > 0 for s in config.sources), "every source weight must be positive"),
        (0 < config.dedup.threshold <= 1, "dedup.threshold must be in (0, 1]"),
        (config.dedup.num_perm > 0 and config.dedup.ngram > 0, "dedup.num_perm and dedup.ngram must be positive"),
        (config.dedup.buckets >= 0, "dedup.buckets must be >= 0 (0: one per partition)"),
        (0 <= config.decontamination.threshold < 1, "decontamination.threshold must be in [0, 1)"),
        (config.decontamination.ngram > 0, "decontamination.ngram must be positive"),
        (config.filters.min_tokens >= 0, "filters.min_tokens must be >= 0"),
        (0 < config.filters.max_non_alnum_ratio <= 1, "filters.max_non_alnum_ratio must be in (0, 1]"),
        (
            not (config.filters.perplexity_scorer and config.filters.reference_lm),
            "filters.reference_lm and filters.perplexity_scorer: choose one",
        ),
        (
            (config.filters.perplexity_scorer is None and config.filters.reference_lm is None)
            == (config.filters.max_perplexity is None),
            "filters.max_perplexity goes with filters.reference_lm or filters.perplexity_scorer",
        ),
        (
            isinstance(config.filters.languages, list) and all(isinstance(x, str) for x in config.filters.languages),
            'filters.languages must be a list of language codes such as ["en"] ([] turns it off)',
        ),
        (0 <= config.filters.min_language_confidence <= 1, "filters.min_language_confidence must be in [0, 1]"),
        (
            not set(config.filters.repetition) - set(GOPHER_REPETITION),
            f"filters.repetition: unknown scores {sorted(set(config.filters.repetition) - set(GOPHER_REPETITION))}; "
            f"known: {list(GOPHER_REPETITION)}",
        ),
        (all(0 < v <= 1 for v in config.filters.repetition.values()), "filters.repetition values must be in (0, 1]"),
        (config.filters.max_mojibake_sequences >= 0, "filters.max_mojibake_sequences must be >= 0"),
        (
            config.filters.max_unknown_word_fraction is None or 0 < config.filters.max_unknown_word_fraction <= 1,
            "filters.max_unknown_word_fraction must be in (0, 1]",
        ),
        (
            config.filters.perplexity_calibration_factor is None or config.filters.perplexity_calibration_factor > 0,
            "filters.perplexity_calibration_factor must be positive (or left out: absolute max_perplexity only)",
        ),
        (
            all(set(names) <= set(FILTER_NAMES) for names in config.filters.exempt.values()),
            f"filters.exempt: each doc_type lists filters among {list(FILTER_NAMES)}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"{where}: {message}")
