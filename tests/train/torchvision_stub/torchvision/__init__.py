"""A stand-in ``torchvision`` with the names open_clip imports, so that open_clip can build its
models on a machine without a CPU torchvision. Only model building and encoding are used; any
transform called through it does nothing."""

import sys
import types

from . import transforms  # noqa: F401

ops = types.ModuleType("torchvision.ops")
ops.misc = types.SimpleNamespace(FrozenBatchNorm2d=None)
sys.modules["torchvision.ops"] = ops
sys.modules["torchvision.ops.misc"] = ops.misc
