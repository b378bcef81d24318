"""Forms of the case pages: the whistle report, and the work list's filters.

The forms of triggers and actions are not here: :func:`mediation.pages.forms.step_form` builds
them from the definition.
"""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional

from mediation.pages.forms import PageForm

# The national categories a volunteer meets most, shown first as large buttons (UX.md §2); the
# others fold under "more".
COMMON_CATEGORIES = ("邻里", "婚姻家庭", "物业", "劳动争议", "损害赔偿", "房屋宅基地", "其他")


# What a party's role means, in the reporter's words (the case page uses the short words).
REPORT_ROLES = {"applicant": lazy_gettext("反映问题的一方（申请人）"),
                "respondent": lazy_gettext("被反映的一方（被申请人）"),
                "third_party": lazy_gettext("其他有关的人（第三人）")}


class PartyForm(Form):
    """One party, as the API names its fields (``parties-N-name`` ...)."""

    name = StringField(lazy_gettext("姓名或单位名称"))
    role = SelectField(lazy_gettext("是哪一方"), default="respondent")
    phone = StringField(lazy_gettext("电话（可不填）"))


class ReportForm(PageForm):
    """The whistle report (吹哨): at most six required inputs, most of them already chosen."""

    grid = RadioField(lazy_gettext("网格"), validate_choice=False)
    category = RadioField(lazy_gettext("纠纷类型"), validate_choice=False)
    parties = FieldList(FormField(PartyForm), min_entries=1, max_entries=20)
    description = TextAreaField(lazy_gettext("发生了什么"), validators=[
        InputRequired(message=lazy_gettext("请简单说说发生了什么"))])
    risk_level = RadioField(lazy_gettext("紧急程度"), default="low", validate_choice=False)
    title = StringField(lazy_gettext("纠纷名称（可不填，系统按当事人和类型自动生成）"))
    # Photos already taken in (a report sent back for a correction keeps them).
    kept = FieldList(HiddenField(), min_entries=0, max_entries=6)
    # One report however often the button is pressed (case creation's idempotency key).
    key = HiddenField()


class FilterForm(Form):
    """The work list's filters: a GET form, bookmarkable, no CSRF."""

    class Meta:
        """Read from the query string."""

        csrf = False

    tab = HiddenField(default="mine")
    q = StringField(lazy_gettext("搜索（标题、内容、编号）"), validators=[Optional()])
    state = SelectField(lazy_gettext("状态"), validators=[Optional()])
    category = SelectField(lazy_gettext("纠纷类型"), validators=[Optional()])
    grid = SelectField(lazy_gettext("网格"), validators=[Optional()])
    overdue = BooleanField(lazy_gettext("只看已超期"))
    page = IntegerField(default=1, validators=[Optional()])
