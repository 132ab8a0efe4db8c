"""The deployed DuQuant layer's knobs, read from the same variables the deployed layer reads."""
from __future__ import annotations

import dataclasses
import os

ENV_PREFIX = "OPENPI_DUQUANT_"
ROW_ROT_CHOICES = ("restore", "none")


class ConfigError(ValueError):
    """A knob value that the deployed layer would not accept."""


def _parse_int(name, raw, lo, hi):
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        raise ConfigError(f"{name}={raw!r}: expected an integer from {lo} to {hi}")
    return value


def _parse_float(name, raw, lo, hi):
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        raise ConfigError(f"{name}={raw!r}: expected a number from {lo:g} to {hi:g}")
    return value


def _parse_bool(name, raw):
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")


def _parse_choice(name, raw, choices):
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return raw


@dataclasses.dataclass(frozen=True)
class DuQuantConfig:
    """One DuQuant W4A8 layer's settings; defaults are the deployed layer's."""

    wbits: int = 4
    abits: int = 8  # >= 16 means no activation quantisation (weight-only)
    block: int = 16
    ls: float = 0.15  # smoothing of the channel energy before the zigzag permutation
    permute: bool = True
    act_pct: float = 99.9
    calib_steps: int = 32
    row_rot: str = "restore"

    # variable suffix -> (field, parser)
    ENV = {
        "WBITS_DEFAULT": ("wbits", lambda n, r: _parse_int(n, r, 2, 16)),
        "ABITS": ("abits", lambda n, r: _parse_int(n, r, 2, 32)),
        "BLOCK": ("block", lambda n, r: _parse_int(n, r, 1, 4096)),
        "LS": ("ls", lambda n, r: _parse_float(n, r, 0.0, 1.0)),
        "PERMUTE": ("permute", _parse_bool),
        "ACT_PCT": ("act_pct", lambda n, r: _parse_float(n, r, 50.0, 100.0)),
        "CALIB_STEPS": ("calib_steps", lambda n, r: _parse_int(n, r, 0, 1_000_000)),
        "ROW_ROT": ("row_rot", lambda n, r: _parse_choice(n, r, ROW_ROT_CHOICES)),
    }

    def __post_init__(self):
        self.validate()

    def validate(self):
        checks = [
            ("wbits", 2 <= self.wbits <= 16, "an integer from 2 to 16"),
            ("abits", 2 <= self.abits <= 32, "an integer from 2 to 32"),
            ("block", 1 <= self.block <= 4096, "an integer from 1 to 4096"),
            ("ls", 0.0 <= self.ls <= 1.0, "a number from 0 to 1"),
            ("act_pct", 50.0 <= self.act_pct <= 100.0, "a number from 50 to 100"),
            ("calib_steps", self.calib_steps >= 0, "a non-negative integer"),
            ("row_rot", self.row_rot in ROW_ROT_CHOICES, "one of " + ", ".join(ROW_ROT_CHOICES)),
        ]
        for field, ok, accepted in checks:
            if not ok:
                raise ConfigError(f"{field}={getattr(self, field)!r}: expected {accepted}")

    @property
    def quantize_activations(self) -> bool:
        return self.abits < 16

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "DuQuantConfig":
        """Read OPENPI_DUQUANT_* as the deployed layer does; explicit overrides win."""
        environ = os.environ if environ is None else environ
        values = {}
        for suffix, (field, parse) in cls.ENV.items():
            name = ENV_PREFIX + suffix
            if name in environ:
                values[field] = parse(name, environ[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes) -> "DuQuantConfig":
        return dataclasses.replace(self, **changes)
