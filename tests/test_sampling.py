import numpy as np
import pytest
import torch

from cnntopo.ph.sampling import mean_pool, top_l2_positions, top_l2_sample


def brute_force_top_l2(activations: np.ndarray) -> np.ndarray:
    n, c, h, w = activations.shape
    out = np.empty((n, c), dtype=activations.dtype)
    for i in range(n):
        best, best_norm = None, -1.0
        for y in range(h):
            for x in range(w):
                norm = float(np.sqrt(np.sum(activations[i, :, y, x].astype(np.float64) ** 2)))
                if norm > best_norm:
                    best, best_norm = activations[i, :, y, x], norm
        out[i] = best
    return out


@pytest.mark.parametrize("shape", [(7, 5, 4, 3), (3, 64, 1, 1), (20, 2, 8, 8), (1, 17, 5, 9)])
def test_top_l2_matches_brute_force(shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    assert np.array_equal(top_l2_sample(x).numpy(), brute_force_top_l2(x.numpy()))


def test_ties_go_to_first_position_in_row_major_order():
    x = torch.zeros(1, 2, 2, 2)
    x[0, :, 0, 1] = torch.tensor([3.0, 4.0])  # norm 5
    x[0, :, 1, 0] = torch.tensor([4.0, 3.0])  # norm 5 too, later in row-major order
    assert top_l2_sample(x).tolist() == [[3.0, 4.0]]


def test_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\(n, c, h, w\)"):
        top_l2_sample(torch.zeros(3, 4, 5))


def test_mean_pool_and_positions():
    x = torch.randn(6, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(mean_pool(x), x.mean(dim=(2, 3)))
    norms = x.pow(2).sum(dim=1).reshape(6, -1)
    assert torch.equal(top_l2_positions(x), norms.argmax(dim=1))
