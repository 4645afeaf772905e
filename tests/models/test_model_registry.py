"""The zoo registry: listing, lookup, errors, factories."""

import pytest
from torch import nn

from netadapt.errors import UserError
from netadapt.models import ModelSpec, create_model, list_models, model_info, register_model
from netadapt.models import registry


def test_list_models_filters_with_glob_patterns():
    assert list_models("resnet*") == ["resnet20", "resnet29b", "resnet56"]
    assert list_models("mobilenet_v?") == ["mobilenet_v1", "mobilenet_v2"]
    assert list_models("nothing*") == []


def test_unknown_model_error_lists_every_valid_name():
    with pytest.raises(UserError) as info:
        create_model("resnet18")
    for name in list_models():
        assert name in str(info.value)
    with pytest.raises(UserError, match="valid models"):
        model_info("nope")


def test_bad_arguments_are_user_errors():
    with pytest.raises(UserError, match="bogus"):
        create_model("resnet20", bogus=1)
    with pytest.raises(UserError, match="stem"):
        create_model("mobilenet_v1", stem="huge")
    with pytest.raises(UserError, match="width_mult"):
        create_model("vgg11", width_mult=0)


def test_model_info_gives_the_default_input():
    assert model_info("digits_cnn").default_input == (1, 32, 32)
    assert model_info("resnet20").default_input == (3, 32, 32)
    assert model_info("vgg11").description


def test_factory_targets_and_specs_build_models():
    model = create_model("netadapt.models.digits_cnn:digits_cnn", num_classes=4)
    assert model.classifier.out_features == 4
    rebuilt = ModelSpec("resnet20", {"num_classes": 5}).build()
    assert rebuilt.classifier.out_features == 5
    with pytest.raises(UserError, match="cannot import"):
        create_model("no_such_module_xyz:factory")


def test_register_model_adds_a_name_and_rejects_duplicates(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_model("tiny_test_net", "a test net", default_input=(1, 8, 8))
    def tiny(num_classes=10):
        return nn.Linear(64, num_classes)

    assert "tiny_test_net" in list_models()
    assert create_model("tiny_test_net", num_classes=3).out_features == 3
    with pytest.raises(ValueError, match="already registered"):
        register_model("tiny_test_net", "again")(lambda: None)
    with pytest.raises(ValueError, match="':'"):
        register_model("a:b", "colon")


def test_width_mult_scales_channels():
    full = create_model("resnet20")
    half = create_model("resnet20", width_mult=0.5)
    assert full.classifier.in_features == 64 and half.classifier.in_features == 32
    digits = create_model("digits_cnn", width_mult=0.5)
    assert digits.classifier.in_features == create_model("digits_cnn").classifier.in_features // 2
