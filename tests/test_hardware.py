import warnings

import pytest

from ponder import hardware


def test_auto_precision_follows_native_bf16(monkeypatch):
    monkeypatch.setattr(hardware, "cpuinfo", lambda: {"flags": "avx512f avx512_bf16"})
    assert hardware.train_precision("auto", "cpu") == "bf16-mixed"
    assert hardware.sample_bf16("auto", "cpu")
    monkeypatch.setattr(hardware, "cpuinfo", lambda: {"flags": "avx512f avx2"})
    assert hardware.train_precision("auto", "cpu") == "32"
    assert not hardware.sample_bf16("auto", "cpu")
    # explicit choices are kept whatever the machine, with a warning where bf16 is emulated
    with pytest.warns(UserWarning, match=r"train.precision='bf16-mixed' on a CPU without native"):
        assert hardware.train_precision("bf16-mixed", "cpu") == "bf16-mixed"
    with pytest.warns(UserWarning, match=r"sample.precision='bf16'.*'auto' picks fp32"):
        assert hardware.sample_bf16("bf16", "cpu")
    assert not hardware.sample_bf16("32", "cpu")
    monkeypatch.setattr(hardware, "cpuinfo", lambda: {"flags": "avx512f avx512_bf16"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # native bf16: no warning
        assert hardware.train_precision("bf16-mixed", "cpu") == "bf16-mixed"
        assert hardware.sample_bf16("bf16", "cpu")


def test_bad_sample_precision_names_the_choices():
    with pytest.raises(ValueError, match=r"'32', 'bf16' or 'auto', got 'fp16'"):
        hardware.sample_bf16("fp16", "cpu")


def test_cpu_description_says_whether_bf16_is_native(monkeypatch):
    monkeypatch.setattr(hardware, "cpuinfo", lambda: {"model name": "Test CPU", "flags": "avx2"})
    assert hardware.describe_cpu().startswith("Test CPU, ")
    assert hardware.describe_cpu().endswith(", no native bf16")
    info = {"model name": "Test CPU", "flags": "avx2 avx512_bf16"}
    monkeypatch.setattr(hardware, "cpuinfo", lambda: info)
    assert hardware.describe_cpu().endswith(", native bf16")
