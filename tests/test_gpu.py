"""The trainer's CUDA paths, on a GPU (benchmarks/gpu/run.sh runs `pytest -m gpu` there): NCCL
with FSDP2 bf16 mixed precision on one GPU, fused AdamW, the flash-attention path of our GQA
attention, torch.compile on CUDA, torchao float8 (both recipes), seeded initialisation on the GPU,
the MFU peak of the card, and the whole Trainer on the prepared shards. Skipped, with the reason,
where there is no CUDA device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason="needs a CUDA GPU; benchmarks/gpu/run.sh runs these on one"
    ),
]

REPO = Path(__file__).resolve().parents[1]
SHARDS_512 = REPO / "out" / "gpu" / "build-512"  # made by `make gpu-prep` (benchmarks/gpu/measure.py --prepare)


@pytest.fixture(scope="module")
def nccl():
    """A process group of one over NCCL, as torchrun would give a single-GPU job."""
    import torch.distributed as dist
    from medtitan.train import init_distributed

    os.environ.setdefault("MASTER_PORT", "29731")
    _rank, world, device = init_distributed()
    assert dist.get_backend() == "nccl" and world == 1
    yield device
    dist.destroy_process_group()


def _batch(vocab: int, batch: int = 4, seq: int = 256, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab, (batch, seq + 1), generator=generator)
    return tokens[:, :-1].cuda(), tokens[:, 1:].cuda()


def test_fsdp2_on_one_gpu_runs_bf16_and_fused_adamw_learns(nccl):
    from medtitan.models import build_model
    from medtitan.parallel import apply_fsdp
    from torch.distributed.device_mesh import init_device_mesh

    mesh = init_device_mesh("cuda", (1,), mesh_dim_names=("dp_shard",))
    model = build_model("debug", device="cuda")
    apply_fsdp(model, mesh, torch.bfloat16, torch.float32, sum_reduction_only=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, fused=True)
    inputs, labels = _batch(model.args.vocab_size)
    losses = []
    for _ in range(20):
        logits = model(inputs)
        assert logits.dtype == torch.bfloat16  # the mixed-precision policy is in force
        loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten())
        loss.backward()
        assert all(p.grad.dtype == torch.float32 for p in model.parameters())  # fp32 master gradients
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses  # memorises one batch


def test_gqa_attention_takes_the_flash_path_in_bf16():
    from medtitan.models import model_args
    from medtitan.models.llama import Attention, rope_frequencies
    from torch.nn.attention import SDPBackend, sdpa_kernel

    for flavor in ("1b", "7b"):  # head_dim 64 and 128, 8 and 4 query heads per KV head
        args = model_args(flavor)
        attention = Attention(args).cuda().to(torch.bfloat16)
        x = torch.randn(1, 512, args.dim, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        freqs = rope_frequencies(args.head_dim, 512, args.rope_theta).cuda()
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):  # raises if flash cannot take these inputs
            out = attention(x, freqs)
            out.float().pow(2).mean().backward()
        assert out.shape == x.shape and torch.isfinite(x.grad).all()


def test_compiled_blocks_match_eager_on_cuda():
    from medtitan.models import build_model
    from medtitan.parallel import apply_compile

    torch.manual_seed(0)
    eager = build_model("debug", device="cuda")
    compiled = build_model("debug", device="cuda")
    compiled.load_state_dict(eager.state_dict())
    apply_compile(compiled)
    inputs, _ = _batch(eager.args.vocab_size, batch=2, seq=128)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        expected, got = eager(inputs).float(), compiled(inputs).float()
    assert (got - expected).abs().max().item() < 0.05 * expected.abs().max().item()
    got.pow(2).mean().backward()
    assert all(p.grad is not None for p in compiled.parameters() if p.requires_grad)


@pytest.mark.parametrize("recipe", ["tensorwise", "rowwise"])
def test_float8_training_swaps_linears_and_tracks_bf16(recipe):
    from medtitan.models.llama import FeedForward
    from medtitan.parallel import apply_float8, float8_available
    from torchao.float8.float8_linear import Float8Linear

    available, why = float8_available()
    assert available, why  # the GPU run expects an H100/H200 with torchao installed
    torch.manual_seed(0)
    reference = FeedForward(1024, 2816).cuda().to(torch.bfloat16)
    converted = FeedForward(1024, 2816).cuda().to(torch.bfloat16)
    converted.load_state_dict(reference.state_dict())
    assert apply_float8(converted, True, "error", recipe) is True
    assert all(isinstance(m, Float8Linear) for m in (converted.w1, converted.w2, converted.w3))
    x = torch.randn(4096, 1024, device="cuda", dtype=torch.bfloat16)
    expected, got = reference(x).float(), converted(x).float()
    relative = ((got - expected).norm() / expected.norm()).item()
    assert relative < 0.1, relative  # float8's quantisation error, not a different function
    got.pow(2).mean().backward()
    assert torch.isfinite(converted.w1.weight.grad).all()


def test_seeded_initialisation_on_the_gpu_is_deterministic(nccl):
    from medtitan.config import load_job_config
    from medtitan.models import build_model, model_args
    from medtitan.train import initialise_weights

    config = load_job_config(REPO / "train_configs" / "debug.toml")
    args = model_args("debug")
    weights = []
    for _ in range(2):
        model = build_model("debug", vocab_size=args.vocab_size, max_seq_len=args.max_seq_len)
        initialise_weights(model, config, args, torch.device("cuda"))
        weights.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert weights[0]["layers.0.attention.wq.weight"].std().item() == pytest.approx(args.init_std, rel=0.2)


def test_this_gpu_has_a_known_peak_for_mfu():
    from medtitan.metrics import device_peak_flops

    name = torch.cuda.get_device_name(0)
    assert device_peak_flops(torch.device("cuda", 0)), f"no bf16 peak for {name!r}: MFU would be null"


def test_the_trainer_runs_end_to_end_on_the_gpu(nccl, tmp_path):
    from medtitan.config import load_job_config
    from medtitan.train import Trainer

    assert (SHARDS_512 / "manifest.json").exists(), f"{SHARDS_512} is missing: make gpu-prep, then carry out/gpu"
    config = load_job_config(
        REPO / "train_configs" / "debug.toml",
        [
            "--data.shards",
            str(SHARDS_512),
            "--job.dump_folder",
            str(tmp_path),
            "--training.steps",
            "12",
            "--metrics.log_freq",
            "1",
            "--validation.freq",
            "12",
            "--checkpoint.interval",
            "12",
            "--metrics.enable_tensorboard",
            "false",
        ],
    )
    trainer = Trainer(config)
    assert trainer.param_dtype == torch.bfloat16
    result = trainer.train()
    assert len(result["losses"]) == 12 and result["losses"][-1] < result["losses"][0]
    import json

    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(r["mfu"] is not None and r["memory_gib"] > 0 for r in records)
    assert "validation_loss" in records[-1]
    assert (tmp_path / "checkpoint" / "step-12").is_dir()  # DCP on CUDA tensors
