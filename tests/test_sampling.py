import pytest
import torch

from ponder.flows import CosineFlow, RectifiedFlow, VPFlow
from ponder.sampling import (
    Prediction,
    chain_refiners,
    clip_prediction,
    project_finished,
    reverse_step,
    sample,
)
from ponder.schedules import FixedSchedule, make_schedule


def oracle(flow, x0):
    """A denoiser that knows the clean data: eps follows from z exactly."""

    def denoise(z, t):
        b = flow.b(t).unsqueeze(-1)
        eps = (z - flow.a(t).unsqueeze(-1) * x0) / b.clamp_min(1e-12)
        return Prediction(x0, eps, None)

    return denoise


@pytest.mark.parametrize("flow", [RectifiedFlow(), CosineFlow(), VPFlow("cosine")], ids=repr)
def test_ddim_with_the_true_x0_follows_the_forward_path_exactly(flow):
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 6, 2, generator=g, dtype=torch.float64)
    known = torch.zeros(3, 6, dtype=torch.bool)
    states = []
    out = sample(
        oracle(flow, x0),
        flow,
        FixedSchedule(steps=7),
        x0,
        known,
        torch.Generator().manual_seed(5),
        alpha=0.0,
        callback=states.append,
    )
    assert torch.allclose(out, x0, atol=1e-9)
    if isinstance(flow, VPFlow):
        return  # a(1) > 0 there: pure noise is not exactly the forward path's start
    # every intermediate state is the forward noising of x0 with the initial noise
    eps0 = torch.randn(x0.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for state in states[:-1]:
        expected = flow.noise(x0, state.t, eps0)
        assert torch.allclose(state.z, expected, atol=1e-8)
    assert [s.step for s in states] == list(range(7))


def test_ddim_is_deterministic_and_seeded():
    flow = RectifiedFlow()

    def denoise(z, t):  # a fixed nonlinear "model"
        x0 = torch.tanh(z)
        return Prediction(x0, (z - flow.a(t)[..., None] * x0) / flow.b(t)[..., None], None)

    x = torch.zeros(2, 4, 3)
    known = torch.zeros(2, 4, dtype=torch.bool)
    a = sample(denoise, flow, FixedSchedule(steps=5), x, known, torch.Generator().manual_seed(1))
    b = sample(denoise, flow, FixedSchedule(steps=5), x, known, torch.Generator().manual_seed(1))
    c = sample(denoise, flow, FixedSchedule(steps=5), x, known, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_ddpm_step_has_the_forward_marginal():
    """alpha = 1 with the true x0: z_t* ~ a* x0 + b* N(0, I) again (DDPM posterior)."""
    flow = RectifiedFlow()
    n = 200_000
    x0 = torch.full((1, n, 1), 0.5, dtype=torch.float64)
    eps = torch.randn(1, n, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    t = torch.full((1, n), 0.8, dtype=torch.float64)
    t_next = torch.full((1, n), 0.5, dtype=torch.float64)
    z = flow.noise(x0, t, eps)
    z_next = reverse_step(
        flow,
        z,
        t,
        t_next,
        Prediction(x0, eps),
        alpha=1.0,
        generator=torch.Generator().manual_seed(1),
    )
    assert abs(z_next.mean().item() - 0.25) < 0.005  # a(0.5) * 0.5
    assert abs(z_next.std().item() - 0.5) < 0.005  # b(0.5)
    # it keeps gamma of the old noise and adds sigma of fresh noise: a_t b_t* / (a_t* b_t) =
    # 0.25, sigma = 0.5 sqrt(1 - 0.25^2), gamma = sqrt(0.25 - sigma^2) = 0.125 -> corr 0.25
    corr = torch.corrcoef(torch.stack([z_next.flatten(), eps.flatten()]))[0, 1]
    assert abs(corr.item() - 0.25) < 0.01


def test_temperature_zero_makes_ddpm_deterministic():
    flow = RectifiedFlow()
    x0, eps = torch.ones(1, 3, 2), torch.randn(1, 3, 2)
    t, t_next = torch.full((1, 3), 0.9), torch.full((1, 3), 0.4)
    z = flow.noise(x0, t, eps)
    a = reverse_step(
        flow, z, t, t_next, Prediction(x0, eps), 1.0, 0.0, torch.Generator().manual_seed(0)
    )
    b = reverse_step(
        flow, z, t, t_next, Prediction(x0, eps), 1.0, 0.0, torch.Generator().manual_seed(9)
    )
    assert torch.equal(a, b)


def test_known_variables_are_repainted_and_unmoved_variables_untouched():
    flow = RectifiedFlow()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 3, generator=g)
    known = torch.tensor([[True, False, True, False, False], [False] * 5])

    def denoise(z, t):
        return Prediction(torch.zeros_like(z), z, None)

    seen = []
    out = sample(denoise, flow, FixedSchedule(steps=4), x, known, g, callback=seen.append)
    for state in seen:
        assert torch.equal(state.z[known], x[known])
        assert torch.all(state.t[known] == 0)
    assert torch.equal(out[known], x[known])
    assert torch.allclose(out[~known], torch.zeros_like(out[~known]))  # the model's x0


def test_fixed_schedule_grid_and_shift():
    to_generate = torch.tensor([[True, False, True]])
    stepper = FixedSchedule(steps=4).start(to_generate)
    t = to_generate.float()
    grid = []
    for step in range(4):
        t = stepper(step, t, None)
        grid.append(t[0, 0].item())
        assert t[0, 1] == 0
    assert grid == [0.75, 0.5, 0.25, 0.0]
    shifted = FixedSchedule(steps=2, shift=3.0).start(to_generate)(0, to_generate.float(), None)
    assert torch.isclose(shifted[0, 0], torch.tensor(3 * 0.5 / (1 + 2 * 0.5)))


def test_wrong_known_shape_is_an_error():
    with pytest.raises(ValueError, match=r"known mask has shape \(2, 4\), expected \(2, 5\)"):
        sample(
            lambda z, t: None,
            RectifiedFlow(),
            FixedSchedule(steps=1),
            torch.zeros(2, 5, 1),
            torch.zeros(2, 4, dtype=torch.bool),
            torch.Generator(),
        )


def test_unknown_schedule_names_the_choices():
    with pytest.raises(ValueError, match="unknown schedule 'parallel'; choose one of"):
        make_schedule("parallel")
    with pytest.raises(ValueError, match="has no parameter 'step'"):
        make_schedule("fixed", step=3)


def test_project_finished_snaps_each_variable_at_the_step_it_finishes():
    """Raster order, one variable per step: after step k variable k is exactly its code
    (sign of the estimate) while later ones are still noisy; known variables are untouched."""
    finished_codes = []

    def denoise(z, t):
        x0 = torch.full_like(z, 0.3)  # halfway between codes: snapping must show
        return Prediction(x0, (z - (1 - t[..., None]) * x0) / t[..., None].clamp_min(1e-6))

    def callback(state):
        finished_codes.append(((state.t == 0) & (state.z.abs() == 1).all(-1)).sum().item())

    x_known = torch.full((1, 4, 2), -1.0)
    known = torch.tensor([[True, False, False, False]])
    refine = chain_refiners(None, project_finished(torch.sign))
    out = sample(
        denoise,
        RectifiedFlow(),
        make_schedule("raster", steps=3),
        x_known,
        known,
        torch.Generator().manual_seed(0),
        callback=callback,
        refine=refine,
    )
    assert finished_codes == [2, 3, 4]  # the known one plus one more per step
    assert torch.equal(out[0, 0], x_known[0, 0]) and torch.equal(out[0, 1:], torch.ones(3, 2))
    unsnapped = sample(
        denoise,
        RectifiedFlow(),
        make_schedule("raster", steps=3),
        x_known,
        known,
        torch.Generator().manual_seed(0),
    )
    assert torch.allclose(unsnapped[0, 1:], torch.full((3, 2), 0.3))


def test_drop_finished_skips_finished_rows_and_changes_nothing():
    """Sequential steps: a row with fewer unknowns finishes early; with drop_finished the
    network stops seeing it, and the sample is the same as without."""
    flow = RectifiedFlow()
    seen = []

    def denoise(z, t, rows=None):
        seen.append(z.shape[0])
        x0 = torch.tanh(z + 1)
        eps = (z - flow.a(t)[..., None] * x0) / flow.b(t)[..., None].clamp_min(1e-12)
        return Prediction(x0, eps, -t.sum(1, keepdim=True) - torch.arange(t.shape[1]) * 0.1)

    x = torch.zeros(3, 6, 2)
    known = torch.zeros(3, 6, dtype=torch.bool)
    known[1, :1] = True  # row 1 has 5 unknowns (one step each), row 2 none
    known[2] = True
    schedule = make_schedule("adaptive_seq", steps=6)
    runs = []
    for drop in (False, True):
        seen.clear()
        runs.append(
            sample(
                denoise,
                flow,
                schedule,
                x,
                known,
                torch.Generator().manual_seed(0),
                1.0,
                drop_finished=drop,
            )
        )
        runs.append(list(seen))
    plain, plain_rows, dropped, dropped_rows = runs
    assert torch.allclose(plain, dropped)
    assert plain_rows == [3] * 6
    assert dropped_rows == [2, 2, 2, 2, 2, 1]  # row 2 never, row 1 not in the last step


def test_draw_finished_draws_codes_from_the_posterior_mean():
    from ponder.sampling import draw_finished

    refine = draw_finished(1.0, torch.Generator().manual_seed(0))
    z = torch.tensor([[1.0, -1.0, -1.0], [0.0, 0.0, -1.0]]).repeat(2000, 1).view(2000, 2, 3)
    known = torch.zeros(2000, 2, dtype=torch.bool)
    known[:, 0] = True  # known variables are left alone (the loop repaints them anyway)
    out = refine(z, torch.zeros(2000, 2), z, known, z)
    assert torch.equal(out[:, 0], z[:, 0])
    drawn = out[:, 1].argmax(-1)
    assert set(drawn.tolist()) == {0, 1}  # p = (1/2, 1/2, 0): the third digit never
    assert abs(drawn.float().mean().item() - 0.5) < 0.05
    assert torch.equal(out[:, 1].abs(), torch.ones(2000, 3))  # +-1 one-hot codes
    with pytest.raises(ValueError, match="must be > 0, got 0"):
        draw_finished(0.0, torch.Generator())


def test_clip_prediction_clamps_x0_and_keeps_z_on_its_line():
    flow = VPFlow("cosine", steps=10)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 3, 2, generator=g)
    t = torch.tensor([[1.0, 0.5, 0.0]]).expand(4, 3)
    x0 = 5 * torch.randn(4, 3, 2, generator=g)  # far outside the range at most entries
    eps = torch.randn(4, 3, 2, generator=g)
    clipped = clip_prediction(Prediction(x0, eps, None), z, t, flow, (-1.0, 2.0))
    assert clipped.x0.min() >= -1 and clipped.x0.max() <= 2
    inside = (x0 >= -1) & (x0 <= 2)
    assert torch.equal(clipped.x0[inside], x0[inside]) and not torch.equal(clipped.x0, x0)
    a, b = flow.a(t)[..., None], flow.b(t)[..., None]
    moving = (t > 0)[..., None].expand_as(z)
    rebuilt = a * clipped.x0 + b * clipped.eps  # z = a x0 + b eps still holds where b > 0
    assert torch.allclose(rebuilt[moving], z[moving], atol=1e-5)
    assert torch.equal(clipped.eps[~moving], eps[~moving])  # t = 0: eps is left alone


def test_refine_only_touches_the_variables_that_moved():
    """Raster order, one variable per step, a refine that would set everything to 5: after
    step k only variables 0..k hold 5; the unstarted ones keep their starting noise (energy
    descent's jump must not replace a variable a sequential schedule has not started)."""
    states = []
    x_known = torch.zeros(1, 3, 2)
    known = torch.zeros(1, 3, dtype=torch.bool)
    sample(
        lambda z, t: Prediction(torch.zeros_like(z), z),
        RectifiedFlow(),
        make_schedule("raster", steps=3),
        x_known,
        known,
        torch.Generator().manual_seed(0),
        callback=lambda state: states.append(state.z.clone()),
        refine=lambda z, t_next, x0, known, x_known: torch.full_like(z, 5.0),
    )
    noise = torch.randn(1, 3, 2, generator=torch.Generator().manual_seed(0))
    for k, z in enumerate(states):
        assert (z[0, : k + 1] == 5).all()
        assert torch.equal(z[0, k + 1 :], noise[0, k + 1 :])
