import pytest
import torch

from ponder.nets.unet import UNetConfig, UNetDenoiser, image_to_variables, variables_to_image
from ponder.variables import PatchMapper, VariableLayout
from tiny import perturb

SMALL = UNetConfig(channels=16, multipliers=(1, 2), blocks_per_level=1, time_width=32, groups=4)


def test_shapes_and_zero_start():
    layout = PatchMapper(3, 32, 32, 8).layout(num_classes=2)
    net = UNetDenoiser(layout, SMALL, uncertainty=True)
    out = net(torch.randn(2, 16, 192), torch.rand(2, 16), torch.tensor([1, -1]))
    assert out.mean.shape == (2, 16, 192) and out.logvar.shape == (2, 16)
    assert torch.all(out.mean == 0) and torch.all(out.logvar == 0)


def test_patch_image_round_trip_matches_the_patch_mapper():
    mapper = PatchMapper(2, 8, 12, 4)
    images = torch.randn(3, 2, 8, 12)
    x = mapper.to_variables(images)
    assert torch.equal(variables_to_image(x, mapper.layout()), images)
    assert torch.equal(image_to_variables(images, mapper.layout()), x)


def test_each_pixel_sees_its_own_variables_time():
    layout = PatchMapper(1, 8, 8, 4).layout()  # 2x2 grid of 4x4 patches
    net = UNetDenoiser(
        layout,
        UNetConfig(
            channels=16,
            multipliers=(1,),
            blocks_per_level=1,
            attention=False,
            time_width=32,
            groups=4,
        ),
    )
    perturb(net)
    x, t = torch.randn(1, 4, 16), torch.full((1, 4), 0.5)
    t2 = t.clone()
    t2[0, 3] = 0.95
    moved = (net(x, t2).mean - net(x, t).mean).abs().sum(-1)[0]  # [4]
    # without down-sampling, only the receptive field around patch 3 can change
    assert moved.argmax().item() == 3 and moved[3] > 3 * moved[0]


def test_tiny_overfit():
    torch.manual_seed(0)
    layout = PatchMapper(1, 8, 8, 4).layout()
    net = UNetDenoiser(layout, SMALL)
    target = torch.randn(4, 4, 16)
    t = torch.rand(4, 4)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    first = None
    for _ in range(200):
        loss = (net(target * 0.3, t).mean - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first or loss.item()
    assert loss.item() < first / 10


def test_bf16_autocast_is_finite():
    net = UNetDenoiser(PatchMapper(3, 16, 16, 8).layout(), SMALL, uncertainty=True)
    perturb(net)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.randn(2, 4, 192), torch.rand(2, 4))
    assert torch.isfinite(out.mean.float()).all() and torch.isfinite(out.logvar.float()).all()


def test_bad_layouts():
    with pytest.raises(ValueError, match="needs image-patch variables"):
        UNetDenoiser(VariableLayout(4, 3), SMALL)
    with pytest.raises(ValueError, match="image size 10x10 must be divisible by 4"):
        UNetDenoiser(PatchMapper(1, 10, 10, 5).layout(), UNetConfig(multipliers=(1, 2, 2)))
