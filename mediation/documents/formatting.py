"""How documents print values: China-time dates, Chinese numerals, amounts in figures and in
capitals (大写), user text, and the printed names of the engine's own vocabulary.

Pure functions of their arguments: no session, no clock, no environment.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# Dates on documents are China Standard Time (UTC+8, no daylight saving).
CST = timedelta(hours=8)

PARTY_ROLES = {"applicant": "申请人", "respondent": "被申请人", "third_party": "第三人"}
SOURCES = {"whistle": "网格发现（吹哨）", "application": "当事人申请",
           "referral": "移送委托", "consultation": "法律咨询转入"}
RISK_LEVELS = {"low": "低", "medium": "中", "high": "高"}
SIGN_METHODS = {"signature": "签名", "seal": "盖章", "fingerprint": "按指印"}
NUMERALS = "〇一二三四五六七八九"
# The timeline shows the start of each long text; the full text is in its own record.
SUMMARY_CHARS = 60


def local(value: datetime) -> datetime:
    """A naive UTC datetime as China time."""
    return value + CST


def as_local_date(value: date | datetime | str | None) -> date | None:
    """The calendar date of ``value`` in China (datetimes are naive UTC; ISO strings are read
    as dates); None when there is none."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, datetime):
        return local(value).date()
    return value


def cn_date(value: date | datetime | str | None) -> str:
    """``2025年3月5日`` (datetimes are naive UTC and shown in China time)."""
    if value is None or value == "":
        return ""
    day = as_local_date(value)
    if day is None:
        return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def cn_datetime(value: datetime) -> str:
    """``2025年3月5日 14:30`` in China time."""
    t = local(value)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def cn_number(n: int) -> str:
    """Chinese numerals for numbering and counts: 1 → 一, 12 → 十二, 21 → 二十一."""
    if n < 10:
        return NUMERALS[n]
    if n < 20:
        return "十" + (NUMERALS[n % 10] if n % 10 else "")
    if n < 100:
        return NUMERALS[n // 10] + "十" + (NUMERALS[n % 10] if n % 10 else "")
    return str(n)


# -- amounts ------------------------------------------------------------------------------------

_UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UPPER_UNITS = ("", "拾", "佰", "仟")
_UPPER_GROUPS = ("", "万", "亿", "万亿")
_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,2})?$")


def parse_amount(value: Any) -> Decimal | None:
    """An amount in yuan as written on an agreement (``2000``, ``2000.5``, ``2,000.00``,
    ``人民币2000元``), or None when it is not a plain amount."""
    if value is None:
        return None
    text = str(value).strip().replace(",", "").replace("，", "")
    text = re.sub(r"^(人民币|RMB|￥|¥)", "", text).removesuffix("元").strip()
    if not _AMOUNT.match(text):
        return None
    try:
        return Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None


def amount_figures(value: Any) -> str:
    """``人民币6,800.00元`` for an amount; text that is not an amount is printed as written."""
    amount = parse_amount(value)
    if amount is None:
        return "" if value is None else str(value).strip()
    return f"人民币{amount:,.2f}元"


def _upper_group(n: int) -> str:
    """0 < n < 10000 in capitals, with 零 for inner zeros (1001 → 壹仟零壹)."""
    out = ""
    zero = False
    for pos in range(3, -1, -1):
        digit = n // 10 ** pos % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _UPPER_DIGITS[digit] + _UPPER_UNITS[pos]
    return out


def amount_upper(value: Any) -> str:
    """The amount in capitals as on a Chinese financial document (GB/T and the People's Bank's
    rules for 中文大写金额): ``6800`` → ``人民币陆仟捌佰元整``, ``1001.05`` →
    ``人民币壹仟零壹元零伍分``; "" when ``value`` is not an amount."""
    amount = parse_amount(value)
    if amount is None:
        return ""
    cents = int(amount * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if yuan == 0 and jiao == 0 and fen == 0:
        return "人民币零元整"
    groups: list[int] = []
    rest = yuan
    while rest:
        groups.append(rest % 10000)
        rest //= 10000
    text = ""
    need_zero = False
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            need_zero = bool(text)
            continue
        if text and (need_zero or g < 1000):
            text += "零"
        text += _upper_group(g) + _UPPER_GROUPS[i]
        need_zero = False
    if text:
        text += "元"
    if jiao == 0 and fen == 0:
        return f"人民币{text}整"
    if jiao:
        text += _UPPER_DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _UPPER_DIGITS[fen] + "分"
    else:
        text += "整"
    return f"人民币{text}"


# -- user text ----------------------------------------------------------------------------------

def plain(value: Any) -> str:
    """A recorded value as one printable string (lists joined with 、, booleans as 是/否)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(plain(v) for v in value)
    if isinstance(value, dict):
        return value.get("zh-CN") or value.get("zh") or "；".join(
            f"{k}：{plain(v)}" for k, v in value.items())
    return str(value)


def short(value: Any) -> str:
    """One line of at most SUMMARY_CHARS characters, without its closing full stop (a summary
    joins its parts with "；")."""
    text = "".join(line.strip() for line in plain(value).splitlines()).rstrip("。；;.")
    return text[:SUMMARY_CHARS] + "…" if len(text) > SUMMARY_CHARS else text


def grouped(code: str) -> str:
    """A hash or code in groups of four, upper case, to compare by eye."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4)).upper()
