"""kornia.augmentation.RandomHorizontalFlip(p=0.5), train, on a (4, 3, 8, 8) image batch: random
per-sample flip; the drawn params are recorded on the module every call."""
import torch
import kornia.augmentation as K


def factory():
    torch.manual_seed(0)
    m = K.RandomHorizontalFlip(p=0.5).train()
    return m, (torch.rand(4, 3, 8, 8),)
