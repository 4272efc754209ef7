import convergent


def test_core_version_matches_package() -> None:
    assert convergent._core_version() == "0.1.0"
    assert convergent.__version__ == "0.1.0"
