"""The review page's chart library follows the installed plotly."""
import plotly

from monitoring.review import write_library


def test_the_library_is_the_installed_plotlys_and_an_old_one_goes(tmp_path):
    (tmp_path / "plotly.min.js").write_text("an older plotly, as earlier pages wrote it")
    (tmp_path / "plotly-0.0.1.min.js").write_text("another older one")
    library = write_library(tmp_path)
    assert library.name == f"plotly-{plotly.__version__}.min.js"
    assert sorted(p.name for p in tmp_path.iterdir()) == [library.name]
    assert len(library.read_text()) > 1_000_000  # the whole library, no network at view time
    assert write_library(tmp_path) == library  # written once per version
