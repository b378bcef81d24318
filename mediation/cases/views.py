"""The case pages: my work (``/``), the whistle report (``/cases/new``), a case
(``/cases/<id>``), the page of each trigger or action (``/cases/<id>/<name>``), the case's
documents and photos.

Views are thin: load, authorise (a case out of sight is a 404), validate, call one operation,
render. The buttons are what the engine offers (``Engine.options``); the forms of triggers and
actions come from the definition (mediation.pages.forms.step_form).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import login_required
from pydantic import ValidationError
from sqlalchemy import func, select

from mediation.api.problems import field_errors
from mediation.api.schemas import CaseCreate
from mediation.auth.models import LEGAL_ROLE, User
from mediation.cases import history
from mediation.cases.forms import COMMON_CATEGORIES, REPORT_ROLES, FilterForm, ReportForm
from mediation.cases.models import (
    CATEGORIES,
    CATEGORY_LABELS,
    RISK_LABELS,
    RISK_LEVELS,
    Case,
    Party,
)
from mediation.cases.operations import create_case, reveal_party
from mediation.cases.permissions import can_reveal, can_see
from mediation.cases.queries import CaseFilter, list_cases, waiting_states
from mediation.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from mediation.files.models import Attachment
from mediation.files.operations import (
    MAX_PHOTOS,
    attach,
    case_files,
    file_path,
    pending,
    store_photo,
)
from mediation.i18n import N_, msg
from mediation.orgs.models import OrgUnit
from mediation.pages.actor import current_actor
from mediation.pages.errors import render_error
from mediation.pages.forms import FieldContext, StepForm, choices, show_errors, step_form
from mediation.timeutil import utcnow
from mediation.web import attempt, db_session, lang, runtime
from mediation.workflow.audit import verify_case
from mediation.workflow.engine import Option
from mediation.workflow.models import Deadline

cases = Blueprint("cases", __name__)

PER_PAGE = 20
DEFAULT_WORKFLOW = "aunt_whistle"
# A report may bring photos: its own size limit, above the API's.
REPORT_MAX_BYTES = 64 * 1024 * 1024
_MAX_ID = 2**31 - 1
TABS = ("mine", "open", "closed")
HOME_TITLES = {"volunteer": N_("我的工作"), "reviewer": N_("待审收件箱"),
               "lawyer": N_("转给我的案件")}
SYSTEM_NAME = N_("系统")


@cases.before_request
def _ids_in_range() -> None:
    """A path id no row can have is a 404 (not a driver overflow)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 <= value <= _MAX_ID:
            raise NotFound(msg("案件不存在或无权查看"))
    if request.endpoint in ("cases.new", "cases.step") and request.method == "POST":
        request.max_content_length = REPORT_MAX_BYTES  # photos


def visible_case(case_id: int, user: User) -> Case:
    """The case, if ``user`` may see it; 404 otherwise (existence does not leak)."""
    case = db_session().get(Case, case_id)
    if case is None or not can_see(user, case):
        raise NotFound(msg("案件不存在或无权查看"))
    return case


def reportable_grids(user: User) -> list[OrgUnit]:
    """The grids ``user`` may report a dispute in (their unit's; none for a lawyer, who sees
    only referred cases)."""
    if user.role == LEGAL_ROLE:
        return []
    return list(db_session().scalars(select(OrgUnit).where(
        OrgUnit.kind == "grid",
        OrgUnit.path.startswith(user.org_unit.path, autoescape=True)).order_by(OrgUnit.path)))


# -- my work -----------------------------------------------------------------------------------

def _choices(form: FilterForm, user: User) -> None:
    store = runtime().store
    states: dict[str, str] = {}
    for d in store.all_current():
        for name, state in d.states.items():
            states.setdefault(name, state.label.get(lang()))
    anything = ("", N_("全部").get(lang()))
    form.state.choices = choices([anything, *states.items()])
    form.category.choices = choices(
        [anything, *((c, CATEGORY_LABELS[c].get(lang())) for c in CATEGORIES)])
    units: Any = db_session().scalars(select(OrgUnit).where(
        OrgUnit.kind == "grid", OrgUnit.path.startswith(user.org_unit.path, autoescape=True))
        .order_by(OrgUnit.path)) if user.role != LEGAL_ROLE else []
    form.grid.choices = choices([anything, *((u.code, u.name) for u in units)])


def _valid(field: Any) -> str | None:
    value = field.data or ""
    return value if value and value in {c.value for c in field.choices} else None


def _next_deadlines(rows: list[Case]) -> dict[int, Deadline]:
    """The nearest pending deadline of each listed case (one query)."""
    if not rows:
        return {}
    found: dict[int, Deadline] = {}
    for d in db_session().scalars(select(Deadline).where(
            Deadline.case_id.in_([c.id for c in rows]), Deadline.fired_at.is_(None),
            Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at)):
        found.setdefault(d.case_id, d)
    return found


@cases.route("/")
@login_required
def home() -> Any:
    """My work: what waits for me first, sorted by risk and deadline, with counts on top."""
    user, session = current_actor(), db_session()
    form = FilterForm(request.args)
    _choices(form, user)
    tab = form.tab.data if form.tab.data in TABS else TABS[0]
    waiting = waiting_states(runtime().store.all_current(), user.role)
    narrowed: dict[str, Any] = dict(state=_valid(form.state), category=_valid(form.category),
                    grid=_valid(form.grid), q=(form.q.data or "").strip()[:100] or None,
                    overdue=True if form.overdue.data else None)
    by_tab = {"mine": CaseFilter(waiting=waiting, **narrowed),
              "open": CaseFilter(closed=False, **narrowed),
              "closed": CaseFilter(closed=True, **narrowed)}
    page = max(1, min(form.page.data or 1, 100000))
    rows, total = list_cases(session, user, by_tab[tab], page, PER_PAGE)
    counts = {
        "mine": list_cases(session, user, CaseFilter(waiting=waiting), 1, 1)[1],
        "open": list_cases(session, user, CaseFilter(closed=False), 1, 1)[1],
        "overdue": list_cases(session, user, CaseFilter(closed=False, overdue=True), 1, 1)[1],
        "high": _count_high(user),
    }
    return render_template(
        "cases/home.html", form=form, tab=tab, rows=rows, total=total, page=page,
        pages=max(1, -(-total // PER_PAGE)), counts=counts,
        filtered=any(v is not None for v in narrowed.values()),
        title=HOME_TITLES.get(user.role, HOME_TITLES["volunteer"]).get(lang()),
        due=_next_deadlines(rows), can_report=bool(reportable_grids(user)), now=utcnow())


def _count_high(user: User) -> int:
    from mediation.cases.permissions import visible_clause

    return db_session().scalar(select(func.count()).select_from(Case).where(
        visible_clause(user), Case.closed_at.is_(None), Case.risk_level == "high")) or 0


# -- the whistle -------------------------------------------------------------------------------

def _report_choices(form: ReportForm, grids: list[OrgUnit]) -> None:
    form.grid.choices = choices((g.code, g.name) for g in grids)
    form.category.choices = choices((c, CATEGORY_LABELS[c].get(lang())) for c in CATEGORIES)
    form.risk_level.choices = choices((r, RISK_LABELS[r].get(lang())) for r in RISK_LEVELS)
    for entry in form.parties.entries:
        entry.form.role.choices = choices((k, str(v)) for k, v in REPORT_ROLES.items())


def _auto_title(names: list[str], category: str) -> str:
    """张桂芳与李建国邻里纠纷: the parties and the category, as committees name a dispute."""
    people = "与".join(names[:2]) + ("等" if len(names) > 2 else "")
    return f"{people}{category}纠纷"[:200]


def _take_photos(form: ReportForm, user: User) -> list[Attachment]:
    """The photos kept from before and those sent now (each checked; a bad one is named next to
    the photo input, the others are kept)."""
    session = db_session()
    kept = pending(session, [e.data for e in form.kept.entries], user)
    for upload in request.files.getlist("photos"):
        if not upload or not upload.filename:
            continue
        if len(kept) >= MAX_PHOTOS:
            form.photo_errors.append(msg("最多上传%(max)s张照片", max=MAX_PHOTOS).render(lang()))
            break
        try:
            with attempt():
                kept.append(store_photo(session, runtime().config.instance, upload.stream,
                                        upload.filename, actor=user))
        except ValidationFailed as exc:
            form.photo_errors += [e.message.render(lang()) for e in exc.errors]
    while form.kept.entries:
        form.kept.pop_entry()
    for attachment in kept:
        form.kept.append_entry(str(attachment.id))
    return kept


def _case_body(form: ReportForm) -> dict[str, Any]:
    parties = [{"role": e.form.role.data or "respondent", "name": e.form.name.data or "",
                "phone": e.form.phone.data or None} for e in form.parties.entries
               if (e.form.name.data or e.form.phone.data)]
    names = [p["name"] for p in parties if p["name"]]
    category = form.category.data or ""
    return {"workflow": DEFAULT_WORKFLOW, "grid": form.grid.data or "", "category": category,
            "risk_level": form.risk_level.data or "",
            "title": (form.title.data or "").strip() or _auto_title(names, category),
            "description": form.description.data or "", "parties": parties}


def _check_report(form: ReportForm, body: dict[str, Any]) -> list[FieldError]:
    """The report's problems, named by the API's field paths (the API's own rules)."""
    errors: list[FieldError] = []
    if not form.category.data:
        errors.append(FieldError("category", msg("请选择纠纷类型")))
    if not body["parties"]:
        errors.append(FieldError("parties.0.name", msg("请至少填写一位当事人的姓名")))
    try:
        CaseCreate.model_validate(body)
    except ValidationError as exc:
        known = {e.field for e in errors}
        errors += [e for e in field_errors(exc) if e.field not in known
                   and not (e.field == "parties" and not body["parties"])]
    return errors


@cases.route("/cases/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    """吹哨: report a dispute on one page; parties are added inline without JavaScript."""
    user, session = current_actor(), db_session()
    grids = reportable_grids(user)
    if not grids:
        raise Forbidden(msg("您所在的单位下没有可以上报纠纷的网格"))
    form = ReportForm()
    form.photo_errors = []
    if request.method == "GET":
        form.grid.data = (user.org_unit.code if user.org_unit.kind == "grid"
                          else grids[0].code if len(grids) == 1 else None)
        form.parties.entries[0].form.role.data = "applicant"
        form.key.data = secrets.token_urlsafe(16)
    _report_choices(form, grids)
    status = 200
    if request.method == "POST":
        kept = _take_photos(form, user)
        if "add_party" in request.form:
            form.parties.append_entry()
            _report_choices(form, grids)
            return render_template("cases/new.html", form=form, kept=kept,
                                   common=COMMON_CATEGORIES, focus_party=True), 200
        form.validate()
        body = _case_body(form)
        errors = _check_report(form, body)
        show_errors(form, errors, lang())
        if not form.errors and not form.form_errors and not form.photo_errors:
            try:
                with attempt():
                    case, created = create_case(session, runtime().engine, body, actor=user,
                                                idempotency_key=form.key.data or None)
                    if created:
                        attach(session, runtime().engine, case, kept, actor=user)
            except ValidationFailed as exc:
                show_errors(form, exc.errors, lang())
            except Forbidden as exc:
                show_errors(form, [FieldError("grid", exc.detail)], lang())
            else:
                return redirect(url_for("cases.reported", case_id=case.id))
        status = 422
    else:
        kept = []
    return render_template("cases/new.html", form=form, kept=kept,
                           common=COMMON_CATEGORIES), status


@cases.route("/cases/<int:case_id>/reported")
@login_required
def reported(case_id: int) -> Any:
    """The report's result: its number, who was alerted, what happens next."""
    from mediation.notifications.delivery import notices_of_creation

    user, session = current_actor(), db_session()
    case = visible_case(case_id, user)
    definition = runtime().engine.definition(session, case)
    notices = notices_of_creation(session, definition, case)
    return render_template(
        "cases/reported.html", case=case, notices=notices,
        next_step=_next_option(session, case, user),
        deadlines=history.deadlines(session, definition, case, lang(), utcnow()))


# -- a case ------------------------------------------------------------------------------------

def _next_option(session: Any, case: Case, user: User) -> Option | None:
    """The step the definition expects next, if this user may take it now."""
    definition = runtime().engine.definition(session, case)
    expected = definition.state(case.state).next
    return next((o for o in runtime().engine.options(session, case, user)
                 if o.name == expected and o.allowed), None)


def _documents(case: Case) -> list[tuple[str, str]]:
    from mediation.documents.catalogue import catalogue
    from mediation.documents.store import available_documents

    docs = catalogue().documents
    names = available_documents(db_session(), case, runtime=runtime())
    return [(n, docs[n].label.get(lang())) for n in names]


def _case_page(case: Case, user: User, revealed: dict[int, dict[str, str | None]] | None = None,
               status: int = 200) -> Any:
    session, engine = db_session(), runtime().engine
    definition = engine.definition(session, case)
    options = engine.options(session, case, user)
    expected = definition.state(case.state).next
    allowed = [o for o in options if o.allowed and o.kind in ("trigger", "action", "agreement")]
    primary = next((o for o in allowed if o.name == expected), None)
    # The expected step first; steps that cannot be taken back (ending the case, sending it
    # elsewhere) last, after the records.
    allowed.sort(key=lambda o: (o is not primary, o.confirm, o.kind == "action"))
    chain = verify_case(session, case.id, case.report_no, case.version)
    return render_template(
        "cases/show.html", case=case, definition=definition, primary=primary,
        buttons=[o for o in allowed if o is not primary],
        refused=[o for o in options if o.relevant and not o.allowed],
        timeline=history.timeline(session, definition, case, lang(), SYSTEM_NAME.get(lang())),
        deadlines=history.deadlines(session, definition, case, lang(), utcnow()),
        documents=_documents(case), files=case_files(session, case), chain=chain,
        can_reveal=can_reveal(definition, user, case), revealed=revealed or {},
        state=definition.state(case.state)), status


@cases.route("/cases/<int:case_id>")
@login_required
def show(case_id: int) -> Any:
    """A case: who, what, where it stands, what happens next, what this user may do now."""
    user = current_actor()
    return _case_page(visible_case(case_id, user), user)


@cases.route("/cases/<int:case_id>/parties/<int:party_id>/reveal", methods=["POST"])
@login_required
def reveal(case_id: int, party_id: int) -> Any:
    """Show a party's full numbers to one who works the case; the view is logged."""
    user, session = current_actor(), db_session()
    case = visible_case(case_id, user)
    definition = runtime().engine.definition(session, case)
    party = session.get(Party, party_id)
    if party is None or party.case_id != case.id:
        raise NotFound(msg("未找到"))
    if not can_reveal(definition, user, case):
        raise Forbidden(msg("只有办理本案的人员可以查看完整号码"))
    numbers = reveal_party(session, runtime().engine, party, actor=user, purpose="case page")
    return _case_page(case, user, {party.id: numbers})


@cases.route("/cases/<int:case_id>/documents/<name>.pdf")
@login_required
def document(case_id: int, name: str) -> Any:
    """A printed document of the case (its catalogue decides which exist)."""
    from mediation.documents.store import render_case_document

    user = current_actor()
    case = visible_case(case_id, user)
    data, meta = render_case_document(db_session(), runtime(), case, name, actor=user)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{meta.filename}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@cases.route("/cases/<int:case_id>/files/<int:file_id>")
@login_required
def file(case_id: int, file_id: int) -> Any:
    """A photo attached to the case."""
    user = current_actor()
    case = visible_case(case_id, user)
    attachment = db_session().get(Attachment, file_id)
    if attachment is None or attachment.case_id != case.id:
        raise NotFound(msg("未找到"))
    response = send_file(file_path(runtime().config.instance, attachment),
                         mimetype=attachment.mimetype, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- the page of a trigger or an action --------------------------------------------------------

def _option(case: Case, user: User, name: str) -> Option:
    """The option ``name`` of the case for this user: 404 if the definition has no such step,
    403 with the reason when the user may not take it now."""
    session, engine = db_session(), runtime().engine
    definition = engine.definition(session, case)
    if name not in definition.transitions and name not in definition.actions:
        raise NotFound(msg("未找到"))
    option = next((o for o in engine.options(session, case, user)
                   if o.name == name and o.kind != "agreement"), None)
    if option is None:
        raise Conflict(msg("案件当前状态为“%(state)s”，不能办理此项",
                           state=definition.state(case.state).label))
    if not option.allowed:
        raise Forbidden(option.reason)
    return option


def _keep_files(form: StepForm, case: Case, user: User, option: Option,
                data: dict[str, Any]) -> None:
    """Keep the photo of each file field of the step with the case; the step records its name
    (and its checksum, when the step has a ``digest`` field)."""
    from wtforms import FileField

    for name in form.fields_of_step:
        field = form._fields[name]
        upload = field.data if isinstance(field, FileField) else None
        if upload is None or not getattr(upload, "filename", ""):
            continue
        attachment = store_photo(db_session(), runtime().config.instance, upload.stream,
                                 upload.filename, actor=user, field=name)
        attachment.case_id = case.id
        data[name] = attachment.filename
        if "digest" in (*option.requires, *option.optional):
            data["digest"] = attachment.sha256


def hidden_values(form: StepForm) -> list[tuple[str, str]]:
    """The filled-in values as hidden inputs of the confirmation page (its ★ sends them)."""
    from mediation.pages.forms import DayField

    out = []
    for name, value in form.engine_data().items():
        if isinstance(form._fields[name], DayField):
            out += [(name, "other"), (f"{name}-other", str(value))]
        else:
            out.append((name, "y" if value is True else str(value)))
    return out


@cases.route("/cases/<int:case_id>/<name>", methods=["GET", "POST"])
@login_required
def step(case_id: int, name: str) -> Any:
    """The page of one trigger or action: its form (built from the definition), a
    confirmation page for an irreversible trigger, then the case page with what was done."""
    user, session, engine = current_actor(), db_session(), runtime().engine
    case = visible_case(case_id, user)
    option = _option(case, user, name)
    definition = engine.definition(session, case)
    ctx = FieldContext(session=session, case=case, actor=user, lang=lang(), definition=definition)
    form = step_form(definition, option.requires, option.optional, ctx)()
    if request.method == "GET":
        form.version.data = str(case.version)
    stage = request.form.get("_stage", "")
    page = {"case": case, "option": option, "form": form, "definition": definition}
    if request.method != "POST" or stage == "edit" or not form.validate_on_submit():
        return render_template("cases/step.html", **page), 422 if form.errors else 200
    data = form.engine_data()
    if option.confirm and stage != "confirm":
        _, errors = engine.validate_fields(session, definition, case, user, data,
                                           option.requires, option.optional)
        if errors:
            show_errors(form, errors, lang())
            return render_template("cases/step.html", **page), 422
        return render_template("cases/confirm.html", hidden=hidden_values(form),
                               shown=form.shown_values(lang()), **page)
    try:
        with attempt():
            _keep_files(form, case, user, option, data)
            if option.kind == "trigger":
                version = int(form.version.data) if (form.version.data or "").isdigit() else None
                outcome = engine.fire(session, case.id, name, actor=user, data=data,
                                      expected_version=version)
            else:
                outcome = engine.act(session, case.id, name, actor=user, data=data)
    except ValidationFailed as exc:
        show_errors(form, exc.errors, lang())
        return render_template("cases/step.html", **page), 422
    except (Conflict, Forbidden) as exc:
        # The case changed under the user: say so, and give back what they typed.
        return render_error(409 if isinstance(exc, Conflict) else 403, exc.detail, case=case,
                            kept=form.shown_values(lang()))
    flash(msg("已办理：%(step)s", step=option.label).render(lang()), "success")
    for warning in outcome.warnings:
        flash(msg("回避提示：%(warning)s", warning=warning).render(lang()), "warning")
    return redirect(url_for("cases.show", case_id=case.id))


@cases.route("/verify/<code>")
def verify(code: str) -> Any:
    """Public answer for a printed verification code: genuine and current? No personal data."""
    from mediation.documents.verify import verify_code

    result = verify_code(db_session(), code[:64], runtime())
    return render_template("verify.html", code=code[:64], result=result), (
        200 if result["valid"] else 404)
