"""The model: analytic parameter counts, meta-device build, shapes, causality, init."""

from __future__ import annotations

import pytest
import torch

from medtitan.models import build_model, model_args


def test_7b_flavor_has_the_analytic_parameter_count_on_the_meta_device(capsys):
    model = build_model("7b")
    counted = sum(p.numel() for p in model.parameters())
    args = model_args("7b")
    assert counted == args.parameter_count() == 6_195_253_248
    assert args.hidden_dim == 11_008 and args.head_dim == 128
    assert all(p.is_meta for p in model.parameters())
    with capsys.disabled():
        print(
            f"\n7b flavor: {counted:,} parameters ({counted / 1e9:.2f}B); the case study's 6.7B is what full "
            "multi-head attention (32 KV heads) gives with a 32K vocabulary"
        )
    full_mha_32k = model_args("7b", n_kv_heads=32, vocab_size=32_000).parameter_count()
    assert 6.7e9 < full_mha_32k < 6.8e9


def test_parameter_names_follow_torchtitan():
    names = {n for n, _ in build_model("debug").named_parameters()}
    expected = {"tok_embeddings.weight", "norm.weight", "output.weight"}
    for i in range(2):
        expected |= {f"layers.{i}.attention.{w}.weight" for w in ("wq", "wk", "wv", "wo")}
        expected |= {f"layers.{i}.feed_forward.{w}.weight" for w in ("w1", "w2", "w3")}
        expected |= {f"layers.{i}.attention_norm.weight", f"layers.{i}.ffn_norm.weight"}
    assert names == expected


def test_forward_is_causal_and_init_is_seeded():
    torch.manual_seed(0)
    model = build_model("debug", device="cpu")
    torch.manual_seed(0)
    again = build_model("debug", device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
    tokens = torch.randint(0, 8000, (2, 16))
    logits = model(tokens)
    assert logits.shape == (2, 16, 8000) and torch.isfinite(logits).all()
    changed = tokens.clone()
    changed[:, 10:] = (changed[:, 10:] + 1) % 8000
    assert torch.allclose(model(changed)[:, :10], logits[:, :10], atol=1e-6), "no position sees the future"
    assert not torch.allclose(model(changed)[:, 10:], logits[:, 10:])


def test_float8_without_the_hardware_is_a_clear_error_or_a_configured_fallback(capsys):
    from medtitan.parallel import apply_float8, float8_available

    model = build_model("debug")
    available, why = float8_available()
    if available:  # a float8-capable GPU: the swap happens
        assert apply_float8(model, True, "error") is True
        return
    with pytest.raises(RuntimeError, match="float8.enable is set but .*float8.fallback = 'bf16'"):
        apply_float8(model, True, "error")
    assert apply_float8(model, True, "bf16") is False
    assert why in capsys.readouterr().out
    assert apply_float8(model, False, "error") is False
