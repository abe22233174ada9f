import torch
import torch.nn.functional as F

from ponder.nets.attention import attention


def _qkv(dtype, requires_grad=False):
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(3, 2, 17, 8, generator=g).to(dtype).requires_grad_(requires_grad)
        for _ in range(3)
    ]


def test_fp32_is_the_fused_kernel():
    q, k, v = _qkv(torch.float32)
    assert torch.equal(attention(q, k, v), F.scaled_dot_product_attention(q, k, v))


def test_bf16_forward_only_is_the_fused_kernel():
    # nothing to differentiate (sampling): the fused forward is as fast or faster
    q, k, v = _qkv(torch.bfloat16)
    assert torch.equal(attention(q, k, v), F.scaled_dot_product_attention(q, k, v))
    q.requires_grad_()
    with torch.no_grad():
        assert torch.equal(attention(q, k, v), F.scaled_dot_product_attention(q, k, v))


def test_cpu_bf16_path_matches_fp32_attention_within_bf16_rounding():
    q, k, v = _qkv(torch.bfloat16, requires_grad=True)
    out = attention(q, k, v)
    assert out.dtype == torch.bfloat16
    ref = F.scaled_dot_product_attention(q.float(), k.float(), v.float())
    assert (out.float() - ref).abs().max() < 0.03
    out.float().pow(2).sum().backward()
    q32, k32, v32 = (x.detach().float().requires_grad_() for x in (q, k, v))
    F.scaled_dot_product_attention(q32, k32, v32).pow(2).sum().backward()
    for low, high in ((q, q32), (k, k32), (v, v32)):
        err = (low.grad.float() - high.grad).abs().max() / high.grad.abs().max()
        assert err < 0.05


def test_cpu_bf16_path_under_autocast_and_twice_differentiable():
    # energy models differentiate dE/dz again while training
    q, k, v = _qkv(torch.float32, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = attention(q.bfloat16(), k.bfloat16(), v.bfloat16())
    (grad_q,) = torch.autograd.grad(out.float().sum() ** 2, q, create_graph=True)
    grad_q.sum().backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0
