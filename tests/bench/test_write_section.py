"""BENCHMARKS.md is rewritten one section at a time: the others stay, in their order, those
this command does not produce (bench/devices.py's, run on a lent GPU) included."""
from bench.run import HEADER, SECTIONS, markers, write_section


def block(name: str, text: str) -> str:
    begin, end = markers(name)
    return f"{begin}\n{text}\n{end}"


def test_a_rerun_section_is_replaced_in_place_and_the_others_are_kept(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(HEADER + "\n" + "\n\n".join([
        block("foundation", "old foundation"), block("scaleout", "scale-out"),
        block("devices", "measured on a lent GPU"), block("memory", "memory")]) + "\n")
    write_section(path, "foundation", block("foundation", "new foundation"))
    text = path.read_text()
    assert "new foundation" in text and "old foundation" not in text
    assert "measured on a lent GPU" in text
    names = [n for n in ("foundation", "scaleout", "devices", "memory") if markers(n)[0] in text]
    assert [text.index(markers(n)[0]) for n in names] == sorted(text.index(markers(n)[0]) for n in names)
    assert names == ["foundation", "scaleout", "devices", "memory"]
    assert text.count(markers("foundation")[0]) == 1


def test_a_new_section_goes_right_after_the_last_of_those_that_come_before_it(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    first, later = SECTIONS[0], SECTIONS[-1]
    path.write_text(HEADER + "\n" + "\n\n".join([block(first, "first"), block("devices", "gpu")]) + "\n")
    middle = SECTIONS[1]
    write_section(path, middle, block(middle, "middle"))
    write_section(path, later, block(later, "later"))
    text = path.read_text()
    order = sorted((first, middle, later, "devices"), key=lambda n: text.index(markers(n)[0]))
    assert order == [first, middle, later, "devices"]


def test_the_first_section_of_a_new_file(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    write_section(path, "rerun", block("rerun", "reruns"))
    assert path.read_text() == HEADER + "\n" + block("rerun", "reruns") + "\n"
