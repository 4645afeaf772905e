"""An NVIDIA GPU through ONNX Runtime's CUDA execution provider."""

from __future__ import annotations

from devices.host import gpu_name
from devices.ort import OrtDevice


class CudaDevice(OrtDevice):
    """CUDAExecutionProvider on one GPU.

    Args:
        gpu_id: CUDA device index.
    """

    def __init__(self, gpu_id: int = 0):
        super().__init__("CUDAExecutionProvider", {"device_id": int(gpu_id)}, threads=1, name="cuda",
                         install_hint="install onnxruntime-gpu")
        self.gpu_id = int(gpu_id)

    def hardware(self) -> dict[str, str | int]:
        hw = super().hardware()
        hw["gpu"] = gpu_name(self.gpu_id)
        return hw
