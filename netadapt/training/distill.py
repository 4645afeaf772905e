"""Knowledge distillation: the pruned network also learns the unpruned network's softened outputs.

The loss is ``(1 - alpha) x cross-entropy(labels) + alpha x T^2 x KL(teacher / T || student / T)``
(Hinton et al., 2015): the T^2 keeps the soft term's gradients on the scale of the hard one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netadapt.pruning.dependency import main_output


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher || student) of the temperature-softened distributions, averaged over the batch."""
    t = float(temperature)
    return F.kl_div(F.log_softmax(student_logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1),
                    reduction="batchmean", log_target=True)


class DistillationLoss(nn.Module):
    """Cross-entropy on the labels mixed with the KL divergence to a fixed teacher's outputs.

    Args:
        teacher: the network to learn from (kept in eval mode, never updated).
        alpha: weight of the teacher's term, in (0, 1].
        temperature: softening of both distributions.
        label_smoothing: of the cross-entropy term.
    """

    needs_images = True

    def __init__(self, teacher: nn.Module, alpha: float, temperature: float = 4.0, label_smoothing: float = 0.0):
        super().__init__()
        if not 0 < alpha <= 1:
            raise ValueError(f"distillation weight must be in (0, 1], got {alpha}")
        if temperature <= 0:
            raise ValueError(f"distillation temperature must be positive, got {temperature}")
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.ce = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = main_output(self.teacher(images))
        soft = soft_kl(logits, target, self.temperature) * self.temperature ** 2
        return (1 - self.alpha) * self.ce(logits, labels) + self.alpha * soft
