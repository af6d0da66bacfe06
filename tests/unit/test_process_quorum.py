"""When an approval step is decided (rules/process_quorum.py), and how the webhook judges
a host and an answer (services/process_webhook.py, pure parts)."""
import pytest

from appliance.rules.process_quorum import Vote, needed, outcome
from appliance.services.process_webhook import (WebhookFailed, WebhookRefused, _judge,
                                                host_allowed)


def votes(*decisions, escalated=()):
    return [Vote(d) for d in decisions] + [Vote(d, True) for d in escalated]


@pytest.mark.parametrize("quorum, decisions, expected", [
    ({"mode": "any"}, ("", "", ""), None),
    ({"mode": "any"}, ("approved", "", ""), "approved"),
    ({"mode": "any"}, ("rejected", "rejected", ""), None),
    ({"mode": "any"}, ("rejected", "rejected", "rejected"), "rejected"),
    ({"mode": "all"}, ("approved", "approved", ""), None),
    ({"mode": "all"}, ("approved", "approved", "approved"), "approved"),
    ({"mode": "all"}, ("approved", "rejected", ""), "rejected"),
    ({"mode": "n_of_m", "n": 2}, ("approved", "", ""), None),
    ({"mode": "n_of_m", "n": 2}, ("approved", "rejected", "approved"), "approved"),
    ({"mode": "n_of_m", "n": 2}, ("rejected", "rejected", ""), "rejected"),
    ({"mode": "n_of_m", "n": 2}, ("rejected", "", ""), None),
    (None, ("approved",), "approved"),
])
def test_the_quorum_decides_as_soon_as_the_result_is_certain(quorum, decisions, expected):
    assert outcome(quorum, votes(*decisions)) == expected


def test_void_votes_and_escalated_approvers():
    assert outcome({"mode": "all"}, votes("approved", escalated=("",))) == "approved"
    assert outcome({"mode": "all"}, votes("", "", escalated=("rejected",))) == "rejected"
    assert needed({"mode": "n_of_m", "n": 9}, 3) == 3 and needed({"mode": "n_of_m"}, 3) == 1
    assert needed({"mode": "n_of_m", "n": True}, 3) == 1


@pytest.mark.parametrize("url, allowed, ok", [
    ("http://127.0.0.1:8080/x", ("127.0.0.1",), True),
    ("http://127.0.0.1:8080/x", ("127.0.0.1:8080",), True),
    ("http://127.0.0.1:8081/x", ("127.0.0.1:8080",), False),
    ("https://Hooks.Example.com/x", ("hooks.example.com",), True),
    ("https://hooks.example.com/x", ("hooks.example.com:443",), True),
    ("https://hooks.example.com.evil.cn/x", ("hooks.example.com",), False),
    ("https://evil.cn/?hooks.example.com", ("hooks.example.com",), False),
    ("http://[::1]:9/x", ("[::1]",), True),
    ("http://127.0.0.1/x", (), False),
])
def test_only_hosts_on_the_allow_list_are_called(url, allowed, ok):
    assert host_allowed(url, allowed) is ok


@pytest.mark.parametrize("status, error", [(200, None), (204, None), (302, WebhookRefused),
                                           (404, WebhookRefused), (429, WebhookFailed),
                                           (500, WebhookFailed), (503, WebhookFailed)])
def test_answers_are_success_retry_or_refusal(status, error):
    if error is None:
        assert _judge(status).status == status
    else:
        with pytest.raises(error):
            _judge(status)
