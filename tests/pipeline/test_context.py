import pyarrow as pa

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


def test_building_a_run_context_sets_arrows_memory_pool(settings):
    before = pa.default_memory_pool()
    try:
        pa.set_memory_pool(pa.mimalloc_memory_pool())
        RunContext.build(settings.model_copy(update={"arrow_memory_pool": "system"}))
        assert pa.default_memory_pool().backend_name == "system"
        RunContext.build(settings.model_copy(update={"arrow_memory_pool": "jemalloc"}))
        assert pa.default_memory_pool().backend_name == "jemalloc"
    finally:
        pa.set_memory_pool(before)
