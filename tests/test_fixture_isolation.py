"""The fake-distribution fixture leaves nothing behind: a module a test installs is forgotten
after it, so the next test that writes a module of the same name gets its own (issue 16: a
test of plugin loading once made a later test of plugin faults fail, only in that order).
The two tests below run in this order in one process."""

from __future__ import annotations

import importlib
import textwrap

from rewardhub.host import registry as plugins

PLUGIN = """
import rewardhub


@rewardhub.reward("{name}")
def scored(response):
    return 1.0


@rewardhub.hookimpl
def register_rewards(register):
    register(scored)
"""


def _install_by_hand(site, dist: str, module: str, name: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(PLUGIN.format(name=name)))
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[rewardhub]\n{module} = {module}\n")
    importlib.invalidate_caches()
    plugins.reset()


def test_a_first_test_installs_a_module(fake_distribution):
    fake_distribution("rewardhub-isolation-first", "rh_isolation", PLUGIN.format(name="isolation_first"))
    assert "isolation_first" in plugins.registry().rewards


def test_a_later_test_with_a_module_of_that_name_gets_its_own(fake_distribution):
    site = fake_distribution("rewardhub-isolation-other", "rh_isolation_other", PLUGIN.format(name="other"))
    _install_by_hand(site, "rewardhub-isolation-second", "rh_isolation", "isolation_second")
    rewards = plugins.registry().rewards
    assert "isolation_second" in rewards and "isolation_first" not in rewards
