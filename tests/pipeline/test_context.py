import numpy as np

from pipeline.context import RunContext, advise_huge_pages

# NumPy's own switch (what NUMPY_MADVISE_HUGEPAGE sets at import): it returns the previous state
SWITCH = (getattr(np, "_core", None) or np.core).multiarray._set_madvise_hugepage


def numpy_advises_huge_pages() -> bool:
    state = SWITCH(False)
    SWITCH(state)
    return bool(state)


def test_building_a_run_context_applies_the_huge_page_setting_to_numpy(settings):
    before = numpy_advises_huge_pages()
    try:
        advise_huge_pages(True)
        RunContext.build(settings.model_copy(update={"numpy_hugepages": False}))
        assert not numpy_advises_huge_pages()
        RunContext.build(settings.model_copy(update={"numpy_hugepages": True}))
        assert numpy_advises_huge_pages()
    finally:
        advise_huge_pages(before)
