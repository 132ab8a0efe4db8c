"""pytorch-metric-learning CrossBatchMemory around ContrastiveLoss: a queue of past embeddings."""
import torch
from pytorch_metric_learning.losses import ContrastiveLoss, CrossBatchMemory


def factory():
    torch.manual_seed(0)
    m = CrossBatchMemory(ContrastiveLoss(), embedding_size=8, memory_size=16)
    return m, (torch.randn(4, 8), torch.tensor([0, 1, 0, 1]))
