"""Which sections a `make bench` run measures (asicdv.tools.bench_sections), without a simulator."""

import pytest

from asicdv import UserError
from asicdv.tools import bench_sections


def test_defaults_leave_out_the_opt_in_sections_and_keep_the_order():
    chosen = bench_sections.select([], [], [], nightly_by_default=True)
    assert "make-test" not in chosen and "nightly" in chosen
    assert chosen == [s for s in bench_sections.SECTIONS if s in chosen]


def test_skip_with_and_only():
    assert "nightly" not in bench_sections.select([], ["nightly"], [], nightly_by_default=True)
    assert "nightly" not in bench_sections.select([], [], [], nightly_by_default=False)
    assert "nightly" in bench_sections.select([], [], ["nightly"], nightly_by_default=False)
    assert bench_sections.select(["area", "smoke"], [], ["make-test"], True) == ["smoke", "area", "make-test"]


@pytest.mark.parametrize(
    ("only", "skip", "with_"),
    [([], ["bogus"], []), (["bogus"], [], []), ([], [], ["area"]), (["area"], ["area"], [])],
)
def test_bad_sections_are_user_errors(only, skip, with_):
    with pytest.raises(UserError):
        bench_sections.select(only, skip, with_, True)


def test_bad_section_on_the_command_line_is_one_line_and_exit_2(capsys):
    from asicdv.tools import bench

    assert bench.main(["--skip", "bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown section 'bogus'" in err[0]


def test_the_nightly_fits_by_its_last_cost():
    others = [s for s in bench_sections.SECTIONS if s not in bench_sections.OPT_IN and s != "nightly"]
    timed = dict.fromkeys(others, 50.0)  # 8 sections: 400 s
    assert bench_sections.nightly_fits({"section_s": {**timed, "nightly": 500.0}})
    assert not bench_sections.nightly_fits({"section_s": {**timed, "nightly": 501.0}})
    # never measured: twice the reference nightly on top of the last whole bench
    assert bench_sections.nightly_estimate_s({}) == 2 * 206.4
    assert not bench_sections.nightly_fits({"bench_wall_s": 500.0})
