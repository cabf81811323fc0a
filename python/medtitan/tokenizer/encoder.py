"""The Rust encoder of a sentencepiece BPE model (`Tokenizer`): ids identical to sentencepiece's,
only faster, for one text, a batch, a JSONL file or an Arrow array without a Python object per
token."""

from __future__ import annotations

import os

import numpy as np

from medtitan import _core

# The special pieces every medtitan tokenizer has, at ids 0, 1, 2, 3.
SPECIAL_PIECES = {"pad": "<pad>", "bos": "<s>", "eos": "</s>", "unk": "<unk>"}


class Tokenizer:
    """A sentencepiece BPE model encoded by medtitan's Rust core (ids identical to sentencepiece)."""

    def __init__(self, core: _core.Tokenizer) -> None:
        self._core = core
        self.path = core.path
        self.vocab_size: int = core.vocab_size
        self.unk_id: int = core.unk_id
        self.eos_id: int = self._special_id("</s>")
        self.bos_id: int = self._special_id("<s>")

    def _special_id(self, piece: str) -> int:
        found = self._core.piece_to_id(piece)
        return -1 if found == self.unk_id and piece != "<unk>" else found

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Tokenizer:
        """Load a sentencepiece `.model`; FileNotFoundError or ValueError name the file."""
        return cls(_core.Tokenizer.from_file(os.fspath(path)))

    def encode(self, text: str) -> list[int]:
        """The ids of `text`, exactly as sentencepiece's EncodeAsIds gives them (no <s> or </s>)."""
        return self._core.encode(text)

    def encode_batch(self, texts: list[str], num_threads: int | None = None) -> list[list[int]]:
        """Encode on `num_threads` threads (default: all cores) with the GIL released."""
        return self._core.encode_batch(list(texts), num_threads)

    def encode_flat(self, texts: list[str], num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, offsets): all ids as one uint32 array, document i at ids[offsets[i]:offsets[i+1]]."""
        return _as_arrays(self._core.encode_batch_flat(list(texts), num_threads))

    def encode_jsonl(
        self, path: str | os.PathLike, text_field: str = "text", num_threads: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encode every record of a JSONL file without a Python object per document."""
        return _as_arrays(self._core.encode_jsonl(os.fspath(path), text_field, num_threads))

    def encode_arrow(self, array, num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encode a pyarrow string array (or chunked array) straight from its buffers."""
        import pyarrow as pa

        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if array.null_count:
            raise ValueError(f"the array holds {array.null_count} nulls; fill or drop them first")
        if pa.types.is_string(array.type):
            offset_type = np.int32
        elif pa.types.is_large_string(array.type):
            offset_type = np.int64
        else:
            raise TypeError(f"expected a string array, got {array.type}")
        _, offsets_buffer, data_buffer = array.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[array.offset : array.offset + len(array) + 1]
        data = memoryview(data_buffer).cast("B") if data_buffer is not None else memoryview(b"")
        return _as_arrays(self._core.encode_buffers(data, offsets.astype("<i8").tobytes(), num_threads))

    def decode(self, ids: list[int]) -> str:
        """The text of `ids`, as sentencepiece's DecodeIds gives it (pieces joined, "▁" -> space,
        byte-fallback pieces turned back into UTF-8); ValueError names an id out of range."""
        return self._core.decode([int(i) for i in ids])

    def normalize(self, text: str) -> str:
        """`text` after the model's normalizer (the rules the .model carries), as encode sees it."""
        return self._core.normalize(text)

    def id_to_piece(self, token_id: int) -> str:
        """The vocabulary piece of an id."""
        return self._core.id_to_piece(token_id)

    def piece_to_id(self, piece: str) -> int:
        """The id of a vocabulary piece, or unk_id when the piece is not in the vocabulary."""
        return self._core.piece_to_id(piece)

    def __repr__(self) -> str:
        return f"Tokenizer({self.path!r}, vocab_size={self.vocab_size})"


def _as_arrays(flat: tuple[bytes, bytes]) -> tuple[np.ndarray, np.ndarray]:
    ids, offsets = flat
    return np.frombuffer(ids, dtype="<u4"), np.frombuffer(offsets, dtype="<i8")
