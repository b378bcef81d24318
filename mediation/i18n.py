"""Messages in zh-CN (default) and en for the engine, the API and the command line.

Messages are looked up by key so that code outside Flask (CLI, workers) can say the same thing
in either language. Web pages use Flask-Babel for their own text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_LANG = "zh-CN"
LANGS = ("zh-CN", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # generic input errors
    "required": ("此项为必填项", "This field is required"),
    "blank": ("不能为空", "Must not be blank"),
    "too_long": ("长度不能超过{max}个字符", "Must be at most {max} characters"),
    "too_short": ("长度不能少于{min}个字符", "Must be at least {min} characters"),
    "invalid_type": ("格式不正确，应为{expected}", "Invalid value, expected {expected}"),
    "invalid_choice": ("取值无效，可选：{choices}", "Invalid value; choose one of: {choices}"),
    "invalid_date": ("日期格式不正确（应为 YYYY-MM-DD）", "Not a date (use YYYY-MM-DD)"),
    "date_in_future": ("日期不能晚于今天", "The date cannot be later than today"),
    "invalid_datetime": ("时间格式不正确（应为 ISO 8601）", "Not a date and time (use ISO 8601)"),
    "unknown_field": ("不允许的字段", "Unknown field"),
    "unstorable_text": ("含有无法保存的字符（如 NUL 或不成对的代理字符）",
                        "Contains characters that cannot be stored (NUL or unpaired surrogates)"),
    "out_of_range": ("取值超出范围", "Value out of range"),
    "invalid_phone": ("手机号码格式不正确", "Not a valid phone number"),
    "invalid_amount": ("金额应为不小于0的数字（元），最多两位小数",
                       "An amount is a number of yuan, not negative, with at most two decimals"),
    "invalid_id_number": ("身份证号码格式不正确", "Not a valid ID number"),
    "must_be_true": ("必须确认", "Must be confirmed (true)"),
    "not_a_list": ("应为列表", "Must be a list"),
    "list_too_long": ("最多{max}项", "At most {max} items"),
    "list_too_short": ("至少需要{min}项", "At least {min} items needed"),
    # problem titles
    "bad_request": ("请求格式错误", "Bad request"),
    "body_not_json": ("请求体不是有效的 JSON", "The request body is not valid JSON"),
    "body_not_object": ("请求体应为 JSON 对象", "The request body must be a JSON object"),
    "body_not_json_type": ("请求体应为 JSON（Content-Type: application/json），收到的是 {content_type}",
                           "The request body must be JSON (Content-Type: application/json), "
                           "not {content_type}"),
    "invalid_input": ("提交的内容有误", "Invalid input"),
    "unauthorized": ("未登录或登录已过期", "Not signed in, or the session has expired"),
    "bad_credentials": ("用户名或密码错误", "Wrong username or password"),
    "too_many_logins": ("登录失败次数过多，请{minutes}分钟后再试",
                        "Too many failed logins; try again in {minutes} minutes"),
    "forbidden": ("无权执行此操作", "You may not do this"),
    "not_found": ("未找到", "Not found"),
    "case_not_found": ("案件不存在或无权查看", "No such case, or not visible to you"),
    "conflict": ("操作冲突", "Conflict"),
    "stale_version": ("案件已被他人更新（当前版本 {current}，提交版本 {expected}），请刷新后重试",
                      "The case has changed (version {current}, you sent {expected}); "
                      "reload and try again"),
    "wrong_state": ("案件当前状态为“{state}”，不能执行“{trigger}”",
                    "The case is '{state}': '{trigger}' cannot be done now"),
    "unknown_trigger": ("流程“{workflow}”中没有操作“{trigger}”",
                        "Workflow '{workflow}' has no trigger '{trigger}'"),
    "unknown_action": ("流程“{workflow}”中没有登记事项“{action}”",
                       "Workflow '{workflow}' has no action '{action}'"),
    "unknown_workflow": ("没有名为“{name}”的流程", "No workflow called '{name}'"),
    "payload_too_large": ("请求内容过大（上限 {limit} 字节）",
                          "The request is too large (limit {limit} bytes)"),
    "method_not_allowed": ("不支持此请求方法", "Method not allowed"),
    "internal_error": ("服务器内部错误", "Internal server error"),
    "idempotency_mismatch": ("同一 Idempotency-Key 已用于不同的请求内容",
                             "This Idempotency-Key was used with a different request body"),
    # permissions
    "role_not_allowed": ("{role}不能执行“{trigger}”", "A {role} may not '{trigger}'"),
    "nobody_allowed": ("流程未规定谁可执行“{trigger}”", "Nobody may '{trigger}': no role declared"),
    "not_handler": ("只有承办人（{handler}）或所在街道的审查员可以执行“{trigger}”",
                    "Only the handler ({handler}) or a reviewer of the street may '{trigger}'"),
    "outside_unit": ("案件不在您所在单位的辖区内", "The case is outside your unit"),
    "action_wrong_state": ("案件当前状态为“{state}”，不能登记“{action}”",
                           "The case is '{state}': '{action}' cannot be recorded now"),
    "terminal_state": ("案件已结案", "The case is closed"),
    # references
    "unknown_grid": ("网格“{code}”不存在", "No grid '{code}'"),
    "not_a_grid": ("“{code}”不是网格", "'{code}' is not a grid"),
    "grid_outside_unit": ("网格“{code}”不在您的辖区内", "Grid '{code}' is outside your unit"),
    "unknown_user": ("用户“{username}”不存在", "No user '{username}'"),
    "user_wrong_role": ("用户“{username}”不是{role}", "User '{username}' is not a {role}"),
    "user_out_of_reach": ("用户“{username}”不在本案件所属辖区",
                          "User '{username}' does not serve this case's area"),
    "unknown_party": ("当事人“{party}”不属于本案", "Party '{party}' is not in this case"),
    "unknown_org": ("单位“{code}”不存在", "No org unit '{code}'"),
    "org_outside_unit": ("单位“{code}”不在您的辖区内", "The org unit '{code}' is outside your unit"),
    "signed_in_future": ("签署时间不能晚于现在", "A signature cannot be dated in the future"),
    "agreement_incomplete_to_sign": ("协议尚不完整（{missing}），请补全后再签署",
                                     "The agreement is incomplete ({missing}); complete it first"),
    "creator_cannot_see": ("您无法查看该网格的案件，不能在此登记",
                           "You could not see a case of this grid, so you cannot report one"),
    "code_invalid": ("编码应为1–40个字母、数字或 - _ .，以字母或数字开头",
                     "A code is 1–40 letters, digits, '-', '_' or '.', starting with a letter "
                     "or digit"),
    "role_wrong_unit": ("{role}应属于{kinds}一级的单位，“{code}”是{actual}",
                        "A {role} belongs to a unit of kind {kinds}; '{code}' is a {actual}"),
    "code_taken": ("编码“{code}”已存在", "The code '{code}' exists already"),
    "parent_wrong_kind": ("上级单位应为{expected}，“{code}”是{actual}",
                          "The parent must be a {expected}; '{code}' is a {actual}"),
    "district_no_parent": ("区级单位没有上级单位", "A district has no parent"),
    "username_invalid": ("用户名应为1–60个字符，且不含空格",
                         "A username is 1–60 characters, without spaces"),
    "username_taken": ("用户名“{username}”已存在", "The username '{username}' exists already"),
    # guards
    "guard_agreement_missing": ("尚未制作书面调解协议，也未登记口头协议",
                                "No written agreement and no registered oral agreement"),
    "guard_agreement_incomplete": ("调解协议尚不完整：{missing}",
                                   "The agreement is incomplete: {missing}"),
    "guard_signatures_missing": ("以下各方尚未签名：{missing}",
                                 "Not yet signed by: {missing}"),
    "guard_no_follow_up": ("尚未记录结果为“已履行”的回访",
                           "No follow-up visit with the result 'performed' is recorded"),
    "agreement_fixed": ("协议已生效，不能再修改", "The agreement is in force and cannot change"),
    "agreement_closed": ("案件当前状态为“{state}”，不能制作或签署协议",
                         "The case is '{state}': the agreement cannot be drafted or signed now"),
    "no_agreement": ("尚未制作调解协议", "There is no agreement yet"),
    "already_signed": ("该方已签名", "Already signed"),
    "mediator_unassigned": ("案件尚无承办调解员，无法代表调解员签名",
                            "The case has no mediator to sign"),
    # documents
    "document_unknown": ("没有名为“{name}”的文书", "No document called '{name}'"),
    "document_not_available": ("暂不能打印“{title}”：{reason}",
                               "'{title}' cannot be printed yet: {reason}"),
    "invalid_month": ("月份格式不正确（应为 YYYY-MM）", "Not a month (use YYYY-MM)"),
    "subsetting_missing": (
        "未找到 HarfBuzz 字体子集库（libharfbuzz-subset0），PDF 生成将慢约40倍，请安装后重启",
        "HarfBuzz subsetting (libharfbuzz-subset0) is not available: PDF rendering falls back "
        "to a path about 40 times slower; install it and restart"),
    "cjk_font_missing": (
        "未找到中文字体 Noto CJK（fonts-noto-cjk），PDF 中的中文将无法显示",
        "The Noto CJK font (fonts-noto-cjk) is not installed: Chinese cannot be printed"),
    # conflicts of interest
    "coi_same_address": ("调解员{mediator}与当事人{party}住址相同（{address}）",
                         "Mediator {mediator} lives at the same address as party {party}"),
    "coi_same_building": ("调解员{mediator}与当事人{party}同姓且住同一楼栋（{building}）",
                          "Mediator {mediator} shares a surname and building with party {party}"),
    "coi_earlier_case": ("调解员{mediator}曾与当事人{party}同为案件{case_no}的当事人",
                         "Mediator {mediator} was a party with {party} in case {case_no}"),
}


@dataclass(frozen=True)
class Label:
    """A text in Chinese and English (labels in definitions, values inside messages)."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` (``zh-CN`` or ``en``)."""
        return self.en if lang.startswith("en") else self.zh


def negotiate(header: str | None) -> str:
    """Pick ``zh-CN`` or ``en`` from an ``Accept-Language`` header (zh-CN when absent)."""
    if not header:
        return DEFAULT_LANG
    best, best_q = DEFAULT_LANG, -1.0
    for part in header.split(","):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()
        q = 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        lang = "en" if tag.startswith("en") else "zh-CN" if tag.startswith("zh") else None
        if lang and q > best_q:
            best, best_q = lang, q
    return best


@dataclass(frozen=True)
class Msg:
    """A message key with its parameters, rendered in a language when shown."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str = DEFAULT_LANG) -> str:
        """The message text in ``lang``."""
        zh, en = MESSAGES[self.key]
        template = en if lang.startswith("en") else zh
        params = {k: (v.get(lang) if hasattr(v, "get") and not isinstance(v, dict) else v)
                  for k, v in self.params.items()}
        return template.format(**params)

    def both(self) -> dict[str, str]:
        """The message in every language (stored in events and logs)."""
        return {lang: self.render(lang) for lang in LANGS}


def msg(key: str, **params: Any) -> Msg:
    """Shorthand for :class:`Msg`."""
    if key not in MESSAGES:
        raise KeyError(f"no message {key!r}")
    return Msg(key, params)
