from domain.memory import advise_huge_pages, advising_huge_pages
from pipeline.context import RunContext


def test_building_a_run_context_applies_the_huge_page_setting_to_numpy(settings):
    before = advising_huge_pages()
    try:
        advise_huge_pages(True)
        RunContext.build(settings.model_copy(update={"numpy_hugepages": False}))
        assert not advising_huge_pages()
        RunContext.build(settings.model_copy(update={"numpy_hugepages": True}))
        assert advising_huge_pages()
    finally:
        advise_huge_pages(before)
