"""Who the parties are: resident ID numbers (GB 11643) and unified social credit codes
(GB 32100), checked with python-stdnum's check-digit rules and a clear reason when wrong.

stdnum's own ``validate`` of a resident ID also looks the birth place up in its table of
current region codes, which refuses the numbers of people born in districts since merged
(杭州市下城区 330103, abolished 2021, is on millions of valid cards): a number keeps the code
it was issued with, so only the code's shape is checked here.
"""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from mediation.i18n import Msg, msg

# The first two digits of a region code: the provinces of GB/T 2260, plus 71 (Taiwan), 81/82
# (Hong Kong, Macao) and 83 (residence permits of Taiwan residents); foreigners' permanent
# residence cards since 2023 begin with 9.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83", "91", "92", "93"})
EARLIEST_BIRTH = date(1900, 1, 1)
# The characters of a credit code (GB 32100: digits and capitals but I, O, S, V, Z).
CREDIT_CODE_CHARS = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")


class IdentityError(ValueError):
    """A number that is not a valid one; ``args[0]`` is the reason (:class:`Msg`)."""

    @property
    def reason(self) -> Msg:
        """Why the number is refused."""
        return self.args[0]


def check_id_number(value: str, *, today: date) -> str:
    """A resident ID number (公民身份号码, GB 11643-1999), upper-cased; raises
    :class:`IdentityError` naming what is wrong: length and digits, the region code's shape,
    the birth date (a real day, not before 1900, not after ``today``), the check digit.

    First-generation 15-digit numbers are refused: they have been invalid since 2013."""
    number = (value or "").strip().upper()
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit()
                                                                or number[17] == "X"):
        raise IdentityError(msg("身份证号码应为18位（前17位为数字，最后一位为数字或X）"))
    if number[:2] not in PROVINCES or number[2:6] == "0000":
        raise IdentityError(msg("身份证号码前6位不是有效的地区码"))
    try:
        born = ric.get_birth_date(number)
    except StdnumError:
        raise IdentityError(msg("身份证号码中的出生日期（%(digits)s）不是真实的日期",
                                digits=number[6:14])) from None
    if born > today:
        raise IdentityError(msg("身份证号码中的出生日期（%(digits)s）晚于今天", digits=number[6:14]))
    if born < EARLIEST_BIRTH:
        raise IdentityError(msg("身份证号码中的出生日期（%(digits)s）早于1900年", digits=number[6:14]))
    if ric.calc_check_digit(number) != number[17]:
        raise IdentityError(msg("身份证号码校验位不正确，请核对号码"))
    return number


def birth_date(id_number: str | None) -> date | None:
    """The birth date written in a resident ID number (None when there is none or it is not
    a valid date); ages on documents are counted from it at the document's date."""
    if not id_number or len(id_number) != 18:
        return None
    try:
        return ric.get_birth_date(id_number)
    except StdnumError:
        return None


def sex_of(id_number: str) -> str:
    """``男`` or ``女``, from the 17th digit (odd: male)."""
    return "男" if int(id_number[16]) % 2 else "女"


def age_at(born: date, at: date) -> int:
    """Whole years from ``born`` to ``at``."""
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def check_credit_code(value: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015), upper-cased; raises
    :class:`IdentityError` when its length, characters or check character are wrong."""
    code = (value or "").strip().upper()
    if len(code) != 18 or any(c not in CREDIT_CODE_CHARS for c in code):
        raise IdentityError(msg("统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）"))
    if not code[2:8].isdigit():
        raise IdentityError(msg("统一社会信用代码第3至8位应为地区码"))
    if uscc.calc_check_digit(code) != code[17]:
        raise IdentityError(msg("统一社会信用代码校验位不正确，请核对"))
    return code
