import torch

from netadapt.checkpoint import _compact, save_state
from netadapt.models.spec import ModelSpec


def test_a_tensor_owning_its_storage_is_saved_without_a_copy():
    owner = torch.randn(64, 32)
    assert _compact(owner).data_ptr() == owner.data_ptr()


def test_views_are_compacted_before_saving(tmp_path):
    big = torch.randn(1000, 100)
    view, strided = big[:2], big[:, :3]
    for t in (view, strided):
        out = _compact(t)
        assert out.data_ptr() != big.data_ptr() and torch.equal(out, t)
        assert out.untyped_storage().nbytes() == t.numel() * 4
    spec = ModelSpec("digits_cnn")
    path = save_state(tmp_path / "m.pt", {"w": view, "s": strided}, spec, (1, 1, 8, 8))
    assert path.stat().st_size < 20_000  # the 400 KB storage behind the views is not written
    state = torch.load(path, weights_only=True)["state_dict"]
    assert torch.equal(state["w"], view) and torch.equal(state["s"], strided)
