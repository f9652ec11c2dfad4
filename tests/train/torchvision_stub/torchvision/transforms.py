"""The transform names open_clip's ``transform.py`` imports; none of them is used by the test."""

import enum
import sys
import types


class InterpolationMode(enum.Enum):
    BICUBIC = "bicubic"
    BILINEAR = "bilinear"
    NEAREST = "nearest"


class _Unused:
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, value):
        return value


Normalize = Compose = RandomResizedCrop = ToTensor = Resize = CenterCrop = _Unused
ColorJitter = RandomGrayscale = Grayscale = Lambda = RandomApply = _Unused
functional = types.ModuleType("torchvision.transforms.functional")
functional.InterpolationMode = InterpolationMode
for _name in ("resize", "center_crop", "pad", "get_dimensions", "crop", "to_tensor", "normalize"):
    setattr(functional, _name, _Unused())
sys.modules["torchvision.transforms.functional"] = functional
sys.modules["torchvision.transforms.v2"] = types.ModuleType("torchvision.transforms.v2")
