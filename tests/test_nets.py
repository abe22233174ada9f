import pytest
import torch

from ponder.nets.mlp import MLPConfig, MLPDenoiser
from ponder.nets.transformer import TransformerConfig, TransformerDenoiser, _TokenSplit
from ponder.variables import PatchMapper, VariableLayout
from tiny import perturb


def test_transformer_shapes_structure_and_labels():
    layout = PatchMapper(3, 8, 8, 4).layout(num_classes=3)
    net = TransformerDenoiser(layout, TransformerConfig(width=32, depth=2, heads=2), True)
    x, t = torch.randn(5, 4, 48), torch.rand(5, 4)
    out = net(x, t, torch.tensor([0, 1, 2, -1, 0]))
    assert out.mean.shape == (5, 4, 48) and out.logvar.shape == (5, 4)
    assert torch.all(out.mean == 0) and torch.all(out.logvar == 0)  # adaLN-Zero start


def test_transformer_conditions_each_variable_on_its_own_time():
    layout = VariableLayout(num_variables=6, dim=4)
    net = TransformerDenoiser(layout, TransformerConfig(width=32, depth=2, heads=2))
    perturb(net)
    x, t = torch.randn(1, 6, 4), torch.full((1, 6), 0.5)
    base = net(x, t).mean
    t2 = t.clone()
    t2[0, 2] = 0.9
    moved = (net(x, t2).mean - base).abs().sum(-1)[0]  # [N]
    # the variable whose t changed moves most (others only through attention)
    assert moved.argmax().item() == 2 and moved[2] > 2 * moved[[0, 1, 3, 4, 5]].max()


@pytest.mark.parametrize("k", [1, 4])
def test_token_split_round_trip(k):
    layout = PatchMapper(3, 16, 16, 8).layout()
    split = _TokenSplit(layout, k)
    x = torch.randn(2, 4, 192)
    tokens = split.to_tokens(x)
    assert tokens.shape == (2, 4 * k, 192 // k)
    assert torch.equal(split.from_tokens(tokens, 4), x)
    if k == 4:  # sub-patches really are spatial quarters of the patch
        patch = x[0, 0].view(3, 8, 8)
        assert torch.equal(tokens[0, 0].view(3, 4, 4), patch[:, :4, :4])
        assert torch.equal(tokens[0, 1].view(3, 4, 4), patch[:, :4, 4:])


def test_transformer_with_several_tokens_per_variable():
    layout = PatchMapper(1, 8, 8, 4).layout()
    net = TransformerDenoiser(
        layout, TransformerConfig(width=16, depth=1, heads=2, tokens_per_variable=4), True
    )
    out = net(torch.randn(2, 4, 16), torch.rand(2, 4))
    assert out.mean.shape == (2, 4, 16) and out.logvar.shape == (2, 4)


def _per_token_block(block, x, cond_tokens):
    """A block written with one adaLN projection per token (the formula before it ran once per
    variable): ``x, cond_tokens [B, T, W]``."""
    b, t, w = x.shape
    shift1, scale1, gate1, shift2, scale2, gate2 = block.ada(cond_tokens).chunk(6, dim=-1)
    h = block.norm1(x) * (1 + scale1) + shift1
    qkv = block.qkv(h).view(b, t, 3, block.heads, w // block.heads).permute(2, 0, 3, 1, 4)
    attn = torch.nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
    x = x + gate1 * block.proj(attn.transpose(1, 2).reshape(b, t, w))
    return x + gate2 * block.mlp(block.norm2(x) * (1 + scale2) + shift2)


def test_adaln_once_per_variable_equals_once_per_token():
    layout = PatchMapper(1, 8, 8, 4).layout()
    net = TransformerDenoiser(
        layout, TransformerConfig(width=16, depth=1, heads=2, tokens_per_variable=4)
    ).double()
    perturb(net)
    block = net.blocks[0]
    x, cond = torch.randn(3, 16, 16, dtype=torch.float64), torch.randn(3, 4, 16).double()
    cond.requires_grad_()
    out = block(x.unflatten(1, (4, 4)), cond).flatten(1, 2)  # tokens as [B, N, k, W]
    ref = _per_token_block(block, x, cond.repeat_interleave(4, dim=1))
    assert torch.allclose(out, ref, atol=1e-12)
    (grad,) = torch.autograd.grad(out.pow(2).sum(), cond)
    (ref_grad,) = torch.autograd.grad(ref.pow(2).sum(), cond)
    assert torch.allclose(grad, ref_grad, atol=1e-10)


def test_gelu_choice():
    layout = VariableLayout(4, 6)
    for gelu, approximate in (("exact", "none"), ("tanh", "tanh")):
        net = TransformerDenoiser(layout, TransformerConfig(width=16, heads=2, gelu=gelu))
        assert net.blocks[0].mlp[1].approximate == approximate
    with pytest.raises(ValueError, match="gelu must be one of \\['exact', 'tanh'\\], got 'relu'"):
        TransformerConfig(gelu="relu")


def test_bad_transformer_settings():
    layout = VariableLayout(4, 6)
    with pytest.raises(ValueError, match="width 30 is not divisible by heads 4"):
        TransformerDenoiser(layout, TransformerConfig(width=30, heads=4))
    with pytest.raises(ValueError, match="tokens_per_variable=4 does not divide"):
        TransformerDenoiser(layout, TransformerConfig(width=32, heads=4, tokens_per_variable=4))


def test_mlp_shapes():
    layout = VariableLayout(num_variables=5, dim=3)
    net = MLPDenoiser(layout, MLPConfig(width=32, depth=2), uncertainty=True)
    out = net(torch.randn(7, 5, 3), torch.rand(7, 5))
    assert out.mean.shape == (7, 5, 3) and out.logvar.shape == (7, 5)


def test_bf16_autocast_forward_is_finite():
    layout = PatchMapper(3, 8, 8, 4).layout()
    net = TransformerDenoiser(layout, TransformerConfig(width=32, depth=2, heads=2), True)
    perturb(net)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.randn(2, 4, 48), torch.rand(2, 4))
    assert torch.isfinite(out.mean.float()).all()


def test_layout_validation():
    with pytest.raises(ValueError, match=r"grid \(2, 3\) does not hold 5 variables"):
        VariableLayout(5, 2, grid=(2, 3))
    with pytest.raises(ValueError, match="patch size 3 must divide the image size 8x8"):
        PatchMapper(1, 8, 8, 3)
    with pytest.raises(ValueError, match=r"expected images of shape \[B, 1, 8, 8\]"):
        PatchMapper(1, 8, 8, 4).to_variables(torch.zeros(2, 3, 8, 8))


def test_patch_mapper_round_trip_and_locality():
    mapper = PatchMapper(3, 12, 8, 4)
    images = torch.randn(2, 3, 12, 8)
    x = mapper.to_variables(images)
    assert x.shape == (2, 6, 48)
    assert torch.equal(mapper.to_images(x), images)
    assert torch.equal(x[0, 1].view(3, 4, 4), images[0, :, :4, 4:8])  # row-major patches
    dep = mapper.dependency()
    assert dep.shape == (6, 6) and dep.trace() == 0 and torch.equal(dep, dep.T)
    assert dep[0].sum() == 3  # corner patch of a 3x2 grid touches 3 others
