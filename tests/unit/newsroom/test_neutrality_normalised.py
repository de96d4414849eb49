"""Regression: look-alike spellings slipped past the neutrality check."""

import pytest

from services.newsroom.bootstrap import config_paths
from services.newsroom.rules import load_neutrality


@pytest.mark.parametrize("draft", ["Partai Gerin\u200bdra", "Partai G\u0435rindra",
                                   "Ｇｅｒｉｎｄｒａ hadir"])
def test_disguised_party_names_are_found(draft):
    terms = load_neutrality(config_paths()[1])
    assert terms.hits("Partai Gerindra")
    assert terms.hits(draft), draft
