"""CLIP's symmetric contrastive loss, for one process or many.

Under DDP each rank has a slice of the global batch. Features are gathered from every rank
*with* gradients (``torch.distributed.nn.all_gather``), and with ``local_loss`` each rank builds
only its own rows of the logit matrix (its images against every text, its texts against every
image), so memory grows linearly with the global batch rather than quadratically. DDP's
averaging of gradients over ranks then gives exactly the gradient of the global-batch loss.
Without ``gather_with_grad``, features from other ranks are constants and only the local slice
carries gradient (open_clip's default); the loss value is the same.
"""

from __future__ import annotations

import warnings

import torch
import torch.distributed as dist
import torch.nn.functional as F

# The public autograd all_gather is marked deprecated in favour of a private module; it is the
# documented way to gather with gradients, so keep it and keep the logs clean.
warnings.filterwarnings("ignore", message=r"torch\.distributed\.nn\.functional\.all_gather is deprecated")


def gather_features(
    image_features: torch.Tensor, text_features: torch.Tensor, with_grad: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every rank's features, concatenated in rank order."""
    if with_grad:
        from torch.distributed.nn import all_gather

        return torch.cat(all_gather(image_features), 0), torch.cat(all_gather(text_features), 0)
    world, rank = dist.get_world_size(), dist.get_rank()
    images = [torch.zeros_like(image_features) for _ in range(world)]
    texts = [torch.zeros_like(text_features) for _ in range(world)]
    dist.all_gather(images, image_features)
    dist.all_gather(texts, text_features)
    images[rank], texts[rank] = image_features, text_features  # keep the local slice's graph
    return torch.cat(images, 0), torch.cat(texts, 0)


class ClipLoss(torch.nn.Module):
    """Mean of image→text and text→image cross-entropy over the (global) batch."""

    def __init__(self, local_loss: bool = False, gather_with_grad: bool = False):
        super().__init__()
        self.local_loss = local_loss
        self.gather_with_grad = gather_with_grad

    def logits(
        self, image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Image→text logits, text→image logits and the label of each row."""
        world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        batch = image_features.shape[0]
        if world == 1:
            per_image = logit_scale * image_features @ text_features.T
            return per_image, per_image.T, torch.arange(batch, device=image_features.device)
        all_images, all_texts = gather_features(image_features, text_features, self.gather_with_grad)
        if self.local_loss:
            per_image = logit_scale * image_features @ all_texts.T
            per_text = logit_scale * text_features @ all_images.T
            labels = torch.arange(batch, device=image_features.device) + batch * dist.get_rank()
            return per_image, per_text, labels
        per_image = logit_scale * all_images @ all_texts.T
        return per_image, per_image.T, torch.arange(all_images.shape[0], device=image_features.device)

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor):
        per_image, per_text, labels = self.logits(image_features, text_features, logit_scale)
        return (F.cross_entropy(per_image.float(), labels) + F.cross_entropy(per_text.float(), labels)) / 2
