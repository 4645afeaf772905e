"""Model zoo and model specifications."""

from netadapt.models.registry import ModelInfo, create_model, list_models, model_info, register_model
from netadapt.models.spec import ModelSpec

__all__ = ["ModelInfo", "ModelSpec", "create_model", "list_models", "model_info", "register_model"]
