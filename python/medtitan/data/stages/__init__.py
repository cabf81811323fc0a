"""The build's stages, one module each, in the order they run:

    ingest         read sources into partitions; bad records -> quarantine    (driver, sequential)
    deid           PHI -> typed placeholders or surrogates                     (tasks per partition)
    filter         tokenize; drop short / symbol-heavy / high-perplexity texts (tasks per partition)
    dedup          exact, then MinHash LSH + exact Jaccard                     (keyed shuffle + union)
    decontaminate  drop documents holding an evaluation sample's 13-grams     (tasks per partition)
    mix            validation split per doc_type; copies to reach the weights (keyed shuffle)
    pack           documents + </s> -> samples of seq_len + 1 tokens          (driver, streaming)
    write          seeded shuffle of samples -> .bin/.idx shards               (driver)

Each module has TASKS and run(driver, results) (stages/base.py says what they promise); the
build driver (medtitan/data/build.py) runs, resumes and dispatches them, and
medtitan/data/manifest.py writes the released report and manifest at the end.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from medtitan.data.stages.base import Task

STAGES = ("ingest", "deid", "filter", "dedup", "decontaminate", "mix", "pack", "write")
MODULES: dict[str, ModuleType] = {name: importlib.import_module(f"medtitan.data.stages.{name}") for name in STAGES}
# Every task step of every stage, by name (what `medtitan-data build-task STEP INDEX` runs).
TASKS: dict[str, Task] = {step: task for module in MODULES.values() for step, task in module.TASKS.items()}
