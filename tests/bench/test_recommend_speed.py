"""The recommend benchmark's speed table: the daily stage judged against its 60 s target with
the network served and, where the step ran, with the two-stage recommender served."""
from bench.recommend import speed_rows

STEPS = {
    "recommend_inner_loop_speed": {"tasks": 128, "inner_steps": 3, "vmap_s": 0.1, "loop_s": 0.7,
                                   "speedup": 7.0, "peak_rss_mb": 850},
    "recommend_train_once": {"days": 365, "customers": 11_352, "tasks": 153_760, "train_s": 31.0,
                             "peak_rss_mb": 860},
    "daily_recommend": {"customers": 11_352, "items": 3_301, "daily_s": 3.1, "peak_rss_mb": 1_236},
}


def test_the_two_stage_daily_stage_is_judged_against_its_target():
    slow = {"customers": 11_352, "items": 3_301, "daily_s": 61.0, "peak_rss_mb": 1_500}
    rows = speed_rows("synthetic", {**STEPS, "daily_two_stage": slow})
    assert len(rows) == 4
    assert rows[2].startswith("| synthetic | daily recommend stage") and "target 60: met" in rows[2]
    assert "two-stage recommender served" in rows[3]
    assert "11,352 customers x 3,301 items" in rows[3]
    assert "**61.0** (target 60: **NOT met**) | 1500 |" in rows[3]
    fast = speed_rows("synthetic", {**STEPS, "daily_two_stage": {**slow, "daily_s": 4.2}})[3]
    assert "**4.2** (target 60: met)" in fast


def test_without_the_two_stage_step_the_table_has_the_networks_rows_only():
    rows = speed_rows("Online Retail", STEPS)
    assert len(rows) == 3 and not any("two-stage" in row for row in rows)
