"""Issue 16.10: a local server can be tried. Recipients at the special-use names `.test` and
`.localhost` (RFC 6761) are refused by default, with the setting that allows them named in the
error; OUTREACH_ALLOW_TEST_DOMAINS=yes lets check, send and mark take them."""

from __future__ import annotations


def test_test_domains_need_the_setting(campaign, invoke, smtp_server):
    rows = ["dr.ana@uni-a.test,Ana,Reyes,stroke,Your work on perfusion maps.",
            "bo@mail.localhost,Bo,Chen,cardiac,Your work on cardiac MRI."]
    campaign.write_contacts(1, extra_rows=rows)

    refused = invoke("check", str(campaign.template), str(campaign.contacts))
    assert refused.exit_code == 2
    assert refused.output.count("OUTREACH_ALLOW_TEST_DOMAINS=yes allows .test and .localhost addresses") == 2
    assert "special-use or reserved name" in refused.output
    not_sent = invoke(*campaign.args("--yes"))
    assert not_sent.exit_code == 2 and smtp_server.messages == []

    campaign.configure(OUTREACH_ALLOW_TEST_DOMAINS="yes")
    assert invoke("check", str(campaign.template), str(campaign.contacts)).exit_code == 0
    sent = invoke(*campaign.args("--yes"))
    assert sent.exit_code == 0, sent.output
    assert sorted(smtp_server.received_by()) == ["bo@mail.localhost", "dr.ana@uni-a.test", "dr0@example.edu"]
    marked = invoke("mark", "Dr.Ana@UNI-A.test", "replied")
    assert marked.exit_code == 0 and "marked dr.ana@uni-a.test replied" in marked.output

    campaign.configure(OUTREACH_ALLOW_TEST_DOMAINS="no")
    assert invoke("check", str(campaign.template), str(campaign.contacts)).exit_code == 2


def test_other_special_use_names_stay_refused(campaign, invoke):
    campaign.configure(OUTREACH_ALLOW_TEST_DOMAINS="yes")
    campaign.write_contacts(1, extra_rows=["x@printer.local,X,Y,stroke,A note.", "y@host.invalid,Y,Z,stroke,A note."])
    result = invoke("check", str(campaign.template), str(campaign.contacts))
    assert result.exit_code == 2 and result.output.count("special-use or reserved name") == 2
    assert "OUTREACH_ALLOW_TEST_DOMAINS" not in result.output
