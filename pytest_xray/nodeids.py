"""The id under which X-Ray keeps a test (traces' ``test_id``, run rows, the report)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xray_core.surrogates import escape_surrogates

if TYPE_CHECKING:
    import pytest


def test_id(node: pytest.Item | pytest.TestReport) -> str:
    """``node``'s node id as valid UTF-8.

    A node id holds lone surrogates when a directory name is not UTF-8 or when test ids are not
    escaped (``disable_test_id_escaping_and_forfeit_all_rights_to_community_support``); they
    are written as ``\\udcxx`` text, as :func:`xray_core.serialize.escape_surrogates` does, so
    that every file and database the id reaches can hold it.
    """
    return escape_surrogates(node.nodeid)
