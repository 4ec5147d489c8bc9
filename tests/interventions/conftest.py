from __future__ import annotations

import pytest

from tests.interventions.helpers import make_course


@pytest.fixture
def course(platform):
    return make_course(platform)
