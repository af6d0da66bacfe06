"""The webhook_private_networks setting: CIDR networks, refused with the key named."""
from __future__ import annotations

import pytest

from appliance.settings import Settings, SettingsError, _validate


def test_networks_in_cidr_form_are_accepted():
    _validate(Settings(webhook_private_networks=("10.20.0.0/16", "127.0.0.1", "fd00::/8")))


def test_a_bad_network_stops_start_up_naming_the_setting():
    with pytest.raises(SettingsError, match="webhook_private_networks"):
        _validate(Settings(webhook_private_networks=("10.20.0.0/33",)))
