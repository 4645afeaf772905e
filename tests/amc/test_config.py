"""AmcConfig as a search folder's config.json holds it: every setting with the version; version-1 files."""

import hashlib
import json

from netadapt.amc.config import AmcConfig


def test_a_version_1_search_config_reads_back_and_keeps_its_folder_name():
    config = AmcConfig(budget="40%", checkpoint="base.pt", episodes=20)
    stored = config.to_dict()
    assert stored["version"] == 3 and stored["split_seed"] == 0 and stored["reconstruct"] == 0
    old = {k: v for k, v in stored.items() if k not in ("version", "split_seed", "reconstruct")}  # before the version
    assert AmcConfig.from_dict(old) == config
    old_name = hashlib.sha256(json.dumps(old, sort_keys=True, default=str).encode()).hexdigest()[:8]
    assert config.version_1_name_hash() == old_name
    assert AmcConfig(budget="40%", checkpoint="base.pt", episodes=20, split_seed=1).version_1_name_hash() != old_name
    assert config.name_hash() != AmcConfig(budget="40%", checkpoint="base.pt").name_hash()


def test_a_version_2_search_config_reads_back_without_reconstruction():
    config = AmcConfig(budget="40%", checkpoint="base.pt", episodes=20)
    stored = {**{k: v for k, v in config.to_dict().items() if k != "reconstruct"}, "version": 2}
    assert AmcConfig.from_dict(stored) == config and config.reconstruct == 0
    assert AmcConfig(budget="40%", checkpoint="base.pt", episodes=20, reconstruct=256).name_hash() != config.name_hash()
