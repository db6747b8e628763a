"""``policykg harvest`` when the server misbehaves, as a specification, against a real OAI-PMH
server on 127.0.0.1 (tests/oai_server.py): 503s and retries, errors that stop a run, broken
pages and records quarantined, OAI errors, refused arguments, and the status of each endpoint.
"""

from __future__ import annotations

import email.utils
import socket
from datetime import UTC, datetime, timedelta

import pytest
from harvest_homes import figures, harvest_home, serving, twenty_records  # noqa: F401 - fixtures

# --- resilience ---------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_503_waits_for_retry_after_then_succeeds(form, home, repository, server):
    wait = "1" if form == "seconds" else email.utils.format_datetime(
        datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    repository.unavailable(count=1, retry_after=wait, after=2)  # the second ListRecords page
    result = home.harvest(server.url)
    assert result.exit_code == 0 and "loaded 20," in result.stdout
    refused, retried = repository.log[2], repository.log[3]
    assert refused["status"] == "503" and retried["status"] == "200"
    assert refused["resumptionToken"] == retried["resumptionToken"]
    assert float(retried["time"]) - float(refused["time"]) >= 0.95


def test_server_errors_and_timeouts_are_retried_with_backoff(home, repository, server):
    repository.fail(count=2, status=500, after=1)
    repository.delay(3.0, count=1, after=4)  # longer than the 2 s timeout
    result = home.harvest(server.url)
    assert result.exit_code == 0 and "loaded 20," in result.stdout
    statuses = [entry.get("status") for entry in repository.requests()]  # the stall: none yet
    assert statuses[:3] == ["500", "500", "200"]
    assert len(repository.requests()) == 4 + 2 + 1  # the pages, the 500s, the retried stall


def test_persistent_errors_stop_the_run_after_bounded_retries(home, repository, server):
    repository.fail(count=100, status=502, after=2)
    result = home.harvest(server.url)
    assert result.exit_code == 3
    assert "HTTP 502" in result.stderr and "after 3 retries" in result.stderr
    assert len(repository.log) == 2 + 4
    entry = home.state()[f"{server.url} set=* prefix=dim"]
    assert entry["last"]["status"] == "stopped" and entry["run"]["token"]


def test_unreachable_endpoint_is_reported(home):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = home.harvest(f"http://127.0.0.1:{port}/oai")
    assert result.exit_code == 3
    assert "cannot reach" in result.stderr and "ConnectError" in result.stderr


def test_broken_page_is_quarantined_and_the_harvest_goes_on(home, repository, server):
    repository.break_page(cursor=5)  # the second page: its second record is malformed
    result = home.harvest(server.url)
    assert result.exit_code == 1
    token = repository.requests()[1]["resumptionToken"]
    assert f"malformed page from {server.url} (resumptionToken {token})" in result.stderr
    assert "1 record(s) before the fault were read" in result.stderr
    assert "read 17, loaded 16," in result.stdout and "rejected 1" in result.stdout
    rejected = home.run("rejected").stdout
    assert f"resumptionToken={token.replace('!', '%21')}" in rejected
    assert "malformed XML at line" in rejected
    # the window is asked again next time: the four records the page lost come in
    again = home.harvest(server.url)
    assert "1 malformed page(s) passed over" in result.stdout
    assert "read 20, loaded 4, replaced 0, unchanged 16," in again.stdout
    assert "0 rejected record(s)" in home.run("rejected").stdout


def test_malformed_record_is_quarantined_naming_endpoint_token_and_identifier(
        home, repository, server):
    identifier = list(repository.records)[7]
    rows = repository.records[identifier].rows
    repository.records[identifier].rows = [(f, v + "\x85" if f == "dc.title" else v, lang)
                                           for f, v, lang in rows]
    result = home.harvest(server.url)
    assert "loaded 19," in result.stdout and "rejected 1" in result.stdout
    token = repository.requests()[1]["resumptionToken"]
    line = next(line for line in home.run("rejected").stdout.splitlines() if identifier in line)
    assert "control character U+0085" in line
    assert f"harvested from {server.url}, resumptionToken {token}" in line


@pytest.mark.parametrize("tokens", ["kept", "expired"])
def test_unrecoverable_page_stops_the_run_and_the_next_run_goes_on(
        tokens, home, repository, server):
    repository.break_page(cursor=10, mode="truncate")
    result = home.harvest(server.url)
    assert result.exit_code == 3
    token = repository.requests()[2]["resumptionToken"]
    assert f"malformed page from {server.url} (resumptionToken {token})" in result.stderr
    assert "cannot be recovered" in result.stderr
    entry = home.state()[f"{server.url} set=* prefix=dim"]
    assert entry["run"]["token"] == token and entry["last"]["status"] == "stopped"
    assert "resumes at resumptionToken" in home.run("harvest", "--status").stdout
    if tokens == "expired":
        repository.expire_tokens()
    seen = len(repository.requests())
    again = home.harvest(server.url)
    assert again.exit_code == 0, again.stderr
    assert repository.requests()[seen].get("resumptionToken") == token
    if tokens == "expired":
        assert "no longer accepted: restarted from the beginning" in again.stdout
        counted = figures(again.stdout)
        assert counted["unchanged"] >= 10 and counted["loaded"] + counted["unchanged"] == 20
    assert len(home.provenance()) == 20


def test_oai_errors_have_clear_messages(home, repository, server):
    repository.formats = ("dim",)
    refused = home.harvest(server.url, "--metadata-prefix", "oai_dc")
    assert refused.exit_code == 3
    assert "does not offer metadata prefix 'oai_dc'" in refused.stderr
    assert "it offers: dim" in refused.stderr
    refused = home.harvest(server.url, "--metadata-prefix", "qdc")
    assert refused.exit_code == 3 and "does not offer metadata prefix 'qdc'" in refused.stderr
    mixed = home.harvest(server.url, "--from", "2024-01-01", "--until", "2024-01-02T00:00:00Z")
    assert mixed.exit_code == 3 and "rejected the arguments" in mixed.stderr
    assert "badArgument" in mixed.stderr
    missing = home.harvest(server.url, "--identifier", "oai:nowhere:1")
    assert missing.exit_code == 3 and "has no such record" in missing.stderr
    one = home.harvest(server.url, "--identifier", next(iter(repository.records)))
    assert one.exit_code == 0 and "loaded 1," in one.stdout
    later = home.harvest(server.url, "--from", "2030-01-01")
    assert later.exit_code == 0 and "nothing new since 2030-01-01" in later.stdout


def test_arguments_that_cannot_work_are_refused_before_any_request(home, repository, server):
    prefix = home.harvest(server.url, "--metadata-prefix", "marc")
    assert prefix.exit_code == 2 and "'marc' is not one of 'dim', 'oai_dc', 'qdc'" in prefix.stderr
    date = home.harvest(server.url, "--from", "yesterday")
    assert date.exit_code == 2 and "YYYY-MM-DD" in date.stderr
    assert repository.log == []


def test_status_shows_each_endpoint_last_run_datestamp_and_counts(home, repository, server):
    assert "no harvest yet" in home.run("harvest", "--status").stdout
    home.harvest(server.url)
    home.harvest(server.url, "--set", "col_11319_0")
    status = home.run("harvest", "--status").stdout.splitlines()
    assert status[0] == f"{server.url} set=* prefix=dim"
    assert status[1].startswith("  last run: complete, ")
    assert "4 page(s), 20 record(s); read 20, loaded 20," in status[1]
    assert status[2].startswith("  harvested up to: 2024-01-01T08:19:00Z (granularity")
    assert f"{server.url} set=col_11319_0 prefix=dim" in status
