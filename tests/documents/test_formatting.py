"""How documents print dates, numerals and amounts (pure functions, values counted by hand)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from mediation.documents.formatting import (
    amount_figures,
    amount_upper,
    cn_date,
    cn_number,
    parse_amount,
)


@pytest.mark.parametrize(("amount", "upper"), [
    ("6800", "人民币陆仟捌佰元整"),
    ("2200.00", "人民币贰仟贰佰元整"),
    ("1001.05", "人民币壹仟零壹元零伍分"),
    ("10.5", "人民币壹拾元伍角整"),
    ("10.05", "人民币壹拾元零伍分"),
    ("0.5", "人民币伍角整"),
    ("0.05", "人民币伍分"),
    ("0", "人民币零元整"),
    ("10000", "人民币壹万元整"),
    ("100000", "人民币壹拾万元整"),
    ("100500", "人民币壹拾万零伍佰元整"),
    ("105000", "人民币壹拾万伍仟元整"),
    ("1000000005", "人民币壹拾亿零伍元整"),
    ("30,001.10", "人民币叁万零壹元壹角整"),
    ("人民币6800元", "人民币陆仟捌佰元整"),
])
def test_amount_in_capitals(amount, upper):
    assert amount_upper(amount) == upper


def test_amounts_that_are_not_amounts_print_as_written():
    assert parse_amount("六千八百元") is None
    assert amount_upper("六千八百元") == ""
    assert amount_figures("六千八百元") == "六千八百元"
    assert amount_figures("6800") == "人民币6,800.00元"


def test_dates_are_china_dates():
    assert cn_date(date(2025, 12, 4)) == "2025年12月4日"
    assert cn_date(datetime(2025, 12, 3, 16, 30)) == "2025年12月4日"  # 00:30 in Hangzhou
    assert cn_date("2025-03-05") == "2025年3月5日"
    assert cn_date(None) == ""
    assert [cn_number(n) for n in (1, 10, 12, 20, 21, 99)] == [
        "一", "十", "十二", "二十", "二十一", "九十九"]
