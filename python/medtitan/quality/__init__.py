"""The build's quality filters' models and tools: language identification (langid.py) and the
reference n-gram language model (reference_lm.py), used by the filter stage
(medtitan/data/stages/filter.py). Submodules are imported on use, so a build that turns a filter
off never loads its model."""
