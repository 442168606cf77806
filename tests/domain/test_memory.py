import os
import subprocess
import sys

import pyarrow as pa

from domain.memory import advise_huge_pages, advising_huge_pages, allocation_env

CHILD = ("import pyarrow as pa; from domain.memory import advising_huge_pages; "
         "print(int(advising_huge_pages()), pa.default_memory_pool().backend_name)")


def test_a_child_started_with_allocation_env_allocates_as_its_parent():
    before_advice, before_pool = advising_huge_pages(), pa.default_memory_pool()
    try:
        for advice, pool in ((True, pa.system_memory_pool()), (False, pa.jemalloc_memory_pool())):
            advise_huge_pages(advice)
            pa.set_memory_pool(pool)
            out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                                 check=True, env={**os.environ, **allocation_env()}).stdout.split()
            assert out == [str(int(advice)), pool.backend_name]
    finally:
        advise_huge_pages(before_advice)
        pa.set_memory_pool(before_pool)
