"""`draft` stores each draft's path through StoredPaths, which makes each folder's stored form once;
on random paths, relative and absolute, in and out of the workspace, with `.`, `..` and empty
parts, it must give what stored_draft_path gives for every one of them, in any order."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.deliver.drafts import StoredPaths, stored_draft_path

parts = st.sampled_from(["ws", "drafts", "fall", "a@b.eml", ".", "..", "", "x", "ws2", "%2Eodd.eml"])
paths = st.builds(lambda lead, names, imap: imap or lead + "/".join(names),
                  st.sampled_from(["", "/", "./"]), st.lists(parts, min_size=1, max_size=5),
                  st.sampled_from([None, None, None, "imap:Drafts"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(paths, min_size=1, max_size=8), st.sampled_from(["ws", "ws/drafts", ""]))
def test_stored_paths_agree_with_stored_draft_path(tmp_path_factory, wheres, inside):
    base = tmp_path_factory.mktemp("stored")
    workspace = base / inside if inside else base
    here = os.getcwd()
    os.chdir(base)
    try:
        stored = StoredPaths(workspace)
        for where in wheres + wheres:  # the second time from what it kept
            if where:
                assert stored(where) == stored_draft_path(where, workspace), where
    finally:
        os.chdir(here)
