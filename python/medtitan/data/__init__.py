"""The data side: reading corpora, the build pipeline, and the shards it writes."""

from medtitan.data.shards import ShardDataset

__all__ = ["ShardDataset"]
