"""The DuQuant probe: faithful mathematics, four variants, knobs read like the deployed layer."""
import pytest
import torch

from compilecheck import probes
from compilecheck.probes import DuQuantConfig, ConfigError, parse_shape
from compilecheck.probes.duquant import (
    CalibratedDuQuantLinear, LazyDuQuantLinear, BufferCloneDuQuantLinear, apply_blocks,
    activation_scale, fake_quant_activation, fake_quant_weight, zigzag_permutation,
)
from compilecheck.probes.data import make_activations, make_linear, outlier_channels

SHAPE = parse_shape("32x128x96")


def rel_err(y, ref):
    return float((y - ref).pow(2).mean().sqrt() / ref.pow(2).mean().sqrt())


@pytest.fixture(scope="module")
def lin():
    return make_linear(SHAPE, 0)


@pytest.fixture(scope="module")
def xs():
    return make_activations(SHAPE, 0, 3)


def test_defaults_are_the_deployed_layers():
    c = DuQuantConfig()
    assert (c.wbits, c.abits, c.block, c.ls, c.permute, c.act_pct, c.row_rot) == \
        (4, 8, 16, 0.15, True, 99.9, "restore")


def test_from_env_reads_the_deployed_variables():
    env = {"OPENPI_DUQUANT_WBITS_DEFAULT": "8", "OPENPI_DUQUANT_ABITS": "16",
           "OPENPI_DUQUANT_BLOCK": "32", "OPENPI_DUQUANT_LS": "0.3",
           "OPENPI_DUQUANT_PERMUTE": "0", "OPENPI_DUQUANT_ACT_PCT": "99.5",
           "OPENPI_DUQUANT_CALIB_STEPS": "0", "OPENPI_DUQUANT_ROW_ROT": "none"}
    c = DuQuantConfig.from_env(env)
    assert (c.wbits, c.abits, c.block, c.ls, c.permute, c.act_pct, c.calib_steps, c.row_rot) == \
        (8, 16, 32, 0.3, False, 99.5, 0, "none")
    assert not c.quantize_activations
    assert DuQuantConfig.from_env(env, wbits=3).wbits == 3  # explicit beats the variable


@pytest.mark.parametrize("name,value,accepted", [
    ("OPENPI_DUQUANT_ABITS", "eight", "integer from 2 to 32"),
    ("OPENPI_DUQUANT_PERMUTE", "maybe", "1/0"),
    ("OPENPI_DUQUANT_ROW_ROT", "sideways", "restore, none"),
    ("OPENPI_DUQUANT_ACT_PCT", "101", "50 to 100"),
])
def test_bad_variable_is_refused_by_name(name, value, accepted):
    with pytest.raises(ConfigError) as e:
        DuQuantConfig.from_env({name: value})
    assert name in str(e.value) and accepted in str(e.value)


def test_permutation_is_a_permutation_and_balances_outlier_energy(lin):
    w = lin.weight.detach()
    perm = zigzag_permutation(w, 16, 0.15)
    assert sorted(perm.tolist()) == list(range(SHAPE.in_features))
    energy = w.pow(2).mean(0)

    def spread(order):
        blocks = energy[order].reshape(-1, 16).sum(1)
        return float(blocks.max() / blocks.min())

    assert spread(perm) < spread(torch.arange(SHAPE.in_features))
    # every block holds the same number of outlier channels (within one)
    outliers = set(outlier_channels(SHAPE.in_features, 0).tolist())
    per_block = [sum(c in outliers for c in perm[i:i + 16].tolist())
                 for i in range(0, SHAPE.in_features, 16)]
    assert max(per_block) - min(per_block) <= 1


def test_rotations_are_orthogonal(lin):
    layer = LazyDuQuantLinear(lin, DuQuantConfig())
    for rots in (layer.r_in, layer.r_out):
        eye = torch.eye(rots.shape[1]).expand_as(rots)
        assert torch.allclose(rots @ rots.transpose(1, 2), eye, atol=1e-5)
        assert not torch.allclose(rots, eye)  # they do rotate something


def test_unquantised_transform_is_exact(lin, xs):
    """P and the block rotations are orthogonal: without quantisation y == x W^T + b."""
    layer = LazyDuQuantLinear(lin, DuQuantConfig())
    w = lin.weight.detach()[:, layer.perm]
    w = apply_blocks(w, layer.r_in)
    w = apply_blocks(w.t(), layer.r_out).t()
    y = apply_blocks(layer.transform_input(xs[0]) @ w.t(), layer.r_out.transpose(1, 2))
    assert torch.allclose(y + lin.bias, lin(xs[0]), atol=1e-4)


def test_duquant_beats_plain_per_channel_w4a8(lin, xs):
    """The point of DuQuant: on inputs with outlier channels the rotated, permuted layer's
    error against the float layer is clearly lower than plain per-channel W4A8's."""
    x = xs[0]
    ref = lin(x).detach()
    duq = LazyDuQuantLinear(lin, DuQuantConfig())(x).detach()
    plain_w = fake_quant_weight(lin.weight.detach(), 4)
    plain = fake_quant_activation(x, activation_scale(x, 99.9, 8), 8) @ plain_w.t() + lin.bias
    assert rel_err(duq, ref) < 0.6 * rel_err(plain.detach(), ref)


def test_variants_agree_in_eager_given_the_same_first_batch(lin, xs):
    cfg = DuQuantConfig()
    lazy = LazyDuQuantLinear(lin, cfg)
    clone = BufferCloneDuQuantLinear(lin, cfg)
    calib = CalibratedDuQuantLinear(lin, cfg).calibrate([xs[0]])
    for x in xs:  # the first batch fixes the scale for lazy and buffer-clone
        a, b, c = lazy(x), clone(x), calib(x)
        assert torch.equal(a, b) and torch.equal(a, c)
    assert lazy._act_scale is not None and clone._act_scale_initialized
    assert "_act_scale" in dict(clone.named_buffers())
    assert "_act_scale" not in dict(lazy.named_buffers())  # a plain attribute


def test_calibrated_refuses_forward_before_calibration(lin, xs):
    with pytest.raises(RuntimeError, match="calibrate"):
        CalibratedDuQuantLinear(lin, DuQuantConfig())(xs[0])


def test_weight_only_has_no_activation_quantisation(lin, xs):
    p = probes.build("weight-only", SHAPE, DuQuantConfig(), 0, 2)
    assert p.module.config.abits == 16
    p.module(xs[0])
    assert p.module._act_scale is None


def test_build_registry_and_errors():
    assert list(probes.VARIANTS) == ["lazy", "buffer-clone", "deployed", "calibrated",
                                    "weight-only"]
    p = probes.build("calibrated", parse_shape("tiny"), DuQuantConfig(), 0, 4)
    assert len(p.inputs) == 4 and p.module.calibrated
    assert not torch.equal(p.inputs[0], p.inputs[1])  # distinct policy steps
    with pytest.raises(ValueError, match="unknown variant"):
        probes.build("nope", parse_shape("tiny"), DuQuantConfig(), 0, 1)


def test_inputs_have_outlier_channels():
    x = make_activations(SHAPE, 0, 1)[0]
    per_channel = x.abs().amax(0)
    idx = outlier_channels(SHAPE.in_features, 0)
    assert per_channel[idx].min() > 5 * per_channel.median()


@pytest.mark.parametrize("text,expected", [
    ("tiny", (16, 64, 64)), ("gemma-300m", (51, 1024, 4096)), ("gemma-2b", (816, 2048, 16384)),
    ("8x32x48", (8, 32, 48)),
])
def test_shapes(text, expected):
    assert tuple(parse_shape(text)) == expected


@pytest.mark.parametrize("text", ["huge", "8x32", "0x16x16", "8x30x32"])
def test_bad_shapes(text):
    with pytest.raises(ValueError):
        parse_shape(text, block=16)
