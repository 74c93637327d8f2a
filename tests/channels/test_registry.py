"""The channel registry: built-ins, third-party entry points, "did you mean"."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from cm_toolkit.channels import registry
from cm_toolkit.channels.base import Capability, MemoryCredentials
from cm_toolkit.channels.manual import ManualChannel, ManualSettings
from cm_toolkit.errors import UnknownChannel
from cm_toolkit.workspace.models import ChannelFile
from cm_toolkit.workspace.networks import known_networks


def test_the_workspace_knows_every_registered_network() -> None:
    # the workspace checks `network:` against the registry, not a list of its own
    assert set(known_networks()) == set(registry.registered())
    assert set(registry.BUILTIN_CHANNELS) <= set(known_networks())


def test_unknown_network_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownChannel) as caught:
        registry.channel_class("facebok")
    assert "facebok" in caught.value.message
    assert caught.value.fix == "did you mean `facebook`?"


def test_unknown_network_far_from_everything_lists_the_known_ones() -> None:
    with pytest.raises(UnknownChannel) as caught:
        registry.settings_model_for("zzzzzz")
    assert "`manual`" in caught.value.fix and "`x`" in caught.value.fix


def test_manual_is_built_in() -> None:
    assert registry.channel_class("manual") is ManualChannel
    assert registry.settings_model_for("manual") is ManualSettings


def test_build_channel_merges_account_options_notify_and_tasks_dir(tmp_path: Path) -> None:
    channel_file = ChannelFile(
        network="manual",
        account={"url": "https://www.linkedin.com/groups/8123456/"},
        notify="http://127.0.0.1:9/hook",
    )
    channel = registry.build_channel(
        "linkedin-group", channel_file, MemoryCredentials("linkedin-group", {}),
        workspace_root=tmp_path,
    )
    assert isinstance(channel, ManualChannel)
    assert channel.manual_settings.url == "https://www.linkedin.com/groups/8123456/"
    assert channel.manual_settings.notify == "http://127.0.0.1:9/hook"
    assert channel.manual_settings.tasks_dir == tmp_path / ".cm" / "tasks"


def test_list_networks_gives_class_data() -> None:
    infos = {info.network: info for info in registry.list_networks()}
    assert set(registry.BUILTIN_CHANNELS) <= set(infos)
    manual = infos["manual"]
    assert manual.available and manual.source == "built-in"
    assert Capability.MANUAL in manual.capabilities
    assert manual.limits is ManualChannel.limits
    for info in infos.values():  # an adapter not importable says why, it does not crash
        assert info.available or info.problem


def _install_plugin(root: Path, entry: str) -> None:
    """A real installed distribution (dist-info on sys.path) declaring an entry point."""
    (root / "cm_demo_plugin").mkdir()
    (root / "cm_demo_plugin" / "__init__.py").write_text(
        textwrap.dedent(
            '''
            from __future__ import annotations
            from cm_toolkit.channels.manual import ManualChannel


            class EchoChannel(ManualChannel):
                display_name = "Echo (test plugin)"


            class NotAChannel:
                pass
            '''
        )
    )
    dist = root / "cm_demo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cm-demo-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[cm_toolkit.channels]\n{entry}\n")


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("cm_demo_plugin", None)


def test_third_party_channel_through_entry_point(plugin_path: Path) -> None:
    _install_plugin(
        plugin_path,
        "echo = cm_demo_plugin:EchoChannel\nx = cm_demo_plugin:EchoChannel\n"
        "broken = cm_demo_plugin:NotAChannel",
    )
    assert registry.channel_class("echo").display_name == "Echo (test plugin)"
    found = registry.registered()
    assert found["echo"] == ("cm_demo_plugin:EchoChannel", "cm-demo-plugin")
    # a plugin cannot take over a built-in name
    assert found["x"][1] == "built-in"
    with pytest.raises(UnknownChannel, match="not a Channel subclass"):
        registry.channel_class("broken")
    with pytest.raises(UnknownChannel) as caught:
        registry.channel_class("ecko")
    assert caught.value.fix == "did you mean `echo`?"


def test_missing_plugin_module_is_reported_not_fatal(plugin_path: Path) -> None:
    _install_plugin(plugin_path, "ghost = cm_ghost_module:GhostChannel")
    assert registry.settings_model_for("ghost") is None
    ghost = {i.network: i for i in registry.list_networks()}["ghost"]
    assert not ghost.available and "cm_ghost_module" in (ghost.problem or "")
