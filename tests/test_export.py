"""`medtitan export-hf`: a checkpoint trained under FSDP (2 processes, gloo) exported to a
HuggingFace folder that transformers loads as LlamaForCausalLM with no custom code: same logits,
same token ids as medtitan's (SentencePiece-exact) tokenizer, atomic writes and clear errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers

from medtitan.checkpoint import load_model
from medtitan.cli import main as cli
from medtitan.tokenizer import Tokenizer
from tests.test_train import SEQ_LEN, run_train


# Texts at the edges of SentencePiece's rules, besides the demo corpus: whitespace runs and
# trailing spaces, section headers (user-defined symbols) first, glued and in a row, literal
# special-token text, byte fallback, NFKC (ligature, full-width, circled digit, ideographic space).
EDGE_TEXTS = [
    "",
    "   ",
    " leading",
    "trailing  ",
    "a  b\t\tc\n\n d \n",
    "[HISTORY] 67yo M with CP",
    "x [PLAN]y",
    "[PLAN][HISTORY]",
    "</s> <s>x <pad><unk>",
    "日本語 😀 ñ",
    "ﬁbrosis Ａ① x\u3000y",
    "metoprolol 25 mg PO BID\n[MEDICATIONS]\n- lisinopril 10mg",
]


@pytest.fixture(scope="module")
def checkpoint(train_shards, tmp_path_factory) -> Path:
    """The debug model after 4 steps of FSDP over 2 processes, checkpointed at step 4."""
    dump = tmp_path_factory.mktemp("export_train")
    run_train(
        train_shards, dump, 2, "--training.steps", "4", "--checkpoint.enable", "true", "--checkpoint.interval", "4"
    )
    return dump / "checkpoint" / "step-4"


@pytest.fixture(scope="module")
def reference(checkpoint):
    return load_model(checkpoint)


@pytest.fixture(scope="module")
def exported(checkpoint, demo_tokenizer_dir, tmp_path_factory) -> Path:
    """float32 export through the installed command line, as a user runs it."""
    output = tmp_path_factory.mktemp("export_hf") / "hf"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "medtitan.cli",
            "export-hf",
            "--checkpoint",
            str(checkpoint),
            "--output",
            str(output),
        ],  # the tokenizer: the one model.json records
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return output


def random_batches(vocab_size: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randint(0, vocab_size, shape, generator=generator) for shape in ((2, SEQ_LEN), (3, 57))]


def max_logit_difference(hf_model, reference) -> float:
    worst = 0.0
    with torch.no_grad():
        for tokens in random_batches(reference.args.vocab_size):
            ours = reference(tokens)
            theirs = hf_model(input_ids=tokens).logits.float()
            assert theirs.shape == ours.shape
            worst = max(worst, (theirs - ours).abs().max().item())
    return worst


def test_transformers_reproduces_the_checkpoint_logits(exported, reference, capsys):
    model = transformers.AutoModelForCausalLM.from_pretrained(exported, dtype=torch.float32)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert type(model).__module__.startswith("transformers.models.llama")
    difference = max_logit_difference(model.eval(), reference)
    with capsys.disabled():
        print(f"\nexport-hf float32: max |logit difference| vs medtitan.load_model = {difference:.3g}")
    assert difference <= 1e-4


def test_config_is_plain_llama_with_the_checkpoint_sizes(exported, checkpoint, reference, demo_tokenizer_dir):
    config = json.loads((exported / "config.json").read_text())
    args = reference.args
    assert config["architectures"] == ["LlamaForCausalLM"] and config["model_type"] == "llama"
    assert "auto_map" not in config
    assert not list(exported.glob("*.py"))
    expected = {
        "vocab_size": args.vocab_size,
        "hidden_size": args.dim,
        "intermediate_size": args.hidden_dim,
        "num_hidden_layers": args.n_layers,
        "num_attention_heads": args.n_heads,
        "num_key_value_heads": args.n_kv_heads,
        "head_dim": args.head_dim,
        "rms_norm_eps": args.norm_eps,
        "max_position_embeddings": args.max_seq_len,
        "tie_word_embeddings": False,
        "hidden_act": "silu",
    }
    assert {key: config[key] for key in expected} == expected
    loaded = transformers.AutoConfig.from_pretrained(exported)
    assert loaded.rope_parameters["rope_theta"] == args.rope_theta
    assert loaded.rope_parameters["rope_type"] == "default"
    assert (loaded.bos_token_id, loaded.eos_token_id, loaded.pad_token_id) == (1, 2, 0)
    generation = json.loads((exported / "generation_config.json").read_text())
    assert generation == {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
    assert sorted(p.name for p in exported.iterdir()) == sorted(
        [
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "tokenizer.model",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "medtitan_export.json",
        ]
    )
    assert not exported.with_name(exported.name + ".tmp").exists()

    record = json.loads((exported / "medtitan_export.json").read_text())
    tokenizer_model = demo_tokenizer_dir / "tokenizer.model"
    assert record["step"] == 4 and record["flavor"] == "debug"
    assert Path(record["source_checkpoint"]) == checkpoint.resolve()
    assert record["args"]["dim"] == args.dim and record["args"]["vocab_size"] == args.vocab_size
    assert record["parameters"] == sum(p.numel() for p in reference.parameters()) == args.parameter_count()
    assert record["tokenizer"]["sha256"] == hashlib.sha256(tokenizer_model.read_bytes()).hexdigest()
    assert (exported / "tokenizer.model").read_bytes() == tokenizer_model.read_bytes()
    assert record["tokenizer"]["pieces_not_encoding_to_themselves"] == []


def demo_texts(demo_dir: Path) -> list[str]:
    """Every string field of every demo corpus record (notes, summaries, ..., the MCQ eval set)."""
    texts = []
    for path in sorted(demo_dir.glob("*.jsonl")) + sorted((demo_dir / "evals").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            values = list(record.values()) + list((record.get("options") or {}).values())
            texts += [v for v in values if isinstance(v, str) and v]
    return texts


def test_autotokenizer_ids_equal_medtitans_on_the_demo_corpus(exported, demo_dir, demo_tokenizer_dir, capsys):
    ours = Tokenizer.from_file(demo_tokenizer_dir / "tokenizer.model")
    theirs = transformers.AutoTokenizer.from_pretrained(exported)
    assert type(theirs).__name__ in ("TokenizersBackend", "PreTrainedTokenizerFast")
    assert len(theirs) == ours.vocab_size
    assert (theirs.eos_token_id, theirs.bos_token_id, theirs.pad_token_id, theirs.unk_token_id) == (2, 1, 0, 3)

    texts = demo_texts(demo_dir)
    assert len(texts) > 1000
    expected = ours.encode_batch(texts + EDGE_TEXTS)
    got = theirs(texts + EDGE_TEXTS, add_special_tokens=False)["input_ids"]
    differing = [text for text, a, b in zip(texts + EDGE_TEXTS, expected, got) if a != b]
    tokens = sum(map(len, expected))
    with capsys.disabled():
        print(
            f"\nexport-hf tokenizer: {len(texts) + len(EDGE_TEXTS) - len(differing)}/{len(texts) + len(EDGE_TEXTS)} "
            f"texts ({sum(map(len, texts)):,} chars, {tokens:,} tokens) give identical ids"
        )
    assert differing == []
    # Training packs documents as ids + [eos]: no BOS/EOS is added by default either.
    assert theirs("[HISTORY] chest pain")["input_ids"] == ours.encode("[HISTORY] chest pain")
    for ids in expected[:200] + expected[-len(EDGE_TEXTS) :]:
        assert theirs.decode(ids) == ours.decode(ids)


def test_bfloat16_export_loads_with_close_logits(checkpoint, reference, demo_tokenizer_dir, tmp_path, capsys):
    output = tmp_path / "bf16"
    assert (
        cli(
            [
                "export-hf",
                "--checkpoint",
                str(checkpoint),
                "--output",
                str(output),
                "--tokenizer",
                str(demo_tokenizer_dir / "tokenizer.model"),
                "--dtype",
                "bfloat16",
            ]
        )
        == 0
    )
    from safetensors import safe_open

    with safe_open(str(output / "model.safetensors"), framework="pt") as weights:
        assert {weights.get_tensor(name).dtype for name in weights.keys()} == {torch.bfloat16}
    assert json.loads((output / "config.json").read_text())["dtype"] == "bfloat16"
    model = transformers.AutoModelForCausalLM.from_pretrained(output, dtype=torch.bfloat16).eval()
    assert next(model.parameters()).dtype == torch.bfloat16
    difference = max_logit_difference(model, reference)
    scale = max(reference(tokens).abs().max().item() for tokens in random_batches(reference.args.vocab_size))
    with capsys.disabled():
        print(f"\nexport-hf bfloat16: max |logit difference| = {difference:.3g} (largest |logit| {scale:.3g})")
    assert difference <= 0.05 * scale


def test_large_weights_are_split_into_shards_with_an_index(checkpoint, reference, demo_tokenizer_dir, tmp_path):
    output = tmp_path / "sharded"
    assert (
        cli(
            [
                "export-hf",
                "--checkpoint",
                str(checkpoint),
                "--output",
                str(output),
                "--tokenizer",
                str(demo_tokenizer_dir / "tokenizer.model"),
                "--max-shard-gb",
                "0.002",
            ]
        )
        == 0
    )
    index = json.loads((output / "model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) > 1 and files == sorted(p.name for p in output.glob("model-*-of-*.safetensors"))
    assert not (output / "model.safetensors").exists()
    assert index["metadata"]["total_size"] == 4 * sum(p.numel() for p in reference.parameters())
    model = transformers.AutoModelForCausalLM.from_pretrained(output, dtype=torch.float32).eval()
    assert max_logit_difference(model, reference) <= 1e-4


def test_errors_name_the_file_and_nothing_is_overwritten(checkpoint, demo_tokenizer_dir, tmp_path, capsys):
    tokenizer = str(demo_tokenizer_dir / "tokenizer.model")
    output = tmp_path / "out"

    def export(*args: str) -> tuple[int, str]:
        code = cli(["export-hf", "--output", str(output), *args])
        return code, capsys.readouterr().err

    code, error = export("--checkpoint", str(tmp_path / "missing" / "step-9"), "--tokenizer", tokenizer)
    assert code == 2 and "missing/step-9" in error and "no such checkpoint" in error
    code, error = export("--checkpoint", str(checkpoint.parent), "--tokenizer", tokenizer)  # the folder above step-4
    assert code == 2 and str(checkpoint.parent / "model.json") in error and "step-4" in error
    older = tmp_path / "older" / "step-4"  # a checkpoint whose model.json records no tokenizer
    shutil.copytree(checkpoint, older)
    description = json.loads((older / "model.json").read_text())
    del description["tokenizer"]
    (older / "model.json").write_text(json.dumps(description))
    code, error = export("--checkpoint", str(older))
    assert code == 2 and "records no tokenizer" in error and "--tokenizer" in error
    code, error = export("--checkpoint", str(checkpoint), "--tokenizer", str(tmp_path / "nope.model"))
    assert code == 2 and "nope.model" in error
    assert not output.exists()

    output.mkdir()
    (output / "keep.txt").write_text("mine")
    code, error = export("--checkpoint", str(checkpoint), "--tokenizer", tokenizer)
    assert code == 2 and str(output) in error and "--force" in error
    assert [p.name for p in output.iterdir()] == ["keep.txt"]
    code, _ = export("--checkpoint", str(checkpoint), "--tokenizer", tokenizer, "--force")
    assert code == 0 and not (output / "keep.txt").exists() and (output / "model.safetensors").exists()
    assert not output.with_name("out.tmp").exists()
