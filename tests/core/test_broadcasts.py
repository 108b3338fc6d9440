"""Every channel-layer broadcast goes through apps/core/effects.py (after commit, or from async
code whose writes committed), where a failed send is logged and never disturbs the sender."""

from pathlib import Path

APPS = Path(__file__).resolve().parents[2] / "apps"


def test_only_the_effects_module_sends_to_channel_layer_groups():
    senders = sorted(
        str(path.relative_to(APPS.parent)) for path in APPS.rglob("*.py") if "group_send(" in path.read_text()
    )
    assert senders == ["apps/core/effects.py"]
