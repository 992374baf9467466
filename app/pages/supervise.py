"""监督 pages (/supervise): the overdue board, statistics, ratings and exceptions, each table also as CSV.

Everything here reads but one action, routing a bad rating to another stage (a POST form with its CSRF
token): the filters are GET forms (bookmarkable, no CSRF token needed), and every figure comes from
`tracking.statistics` over the cases the supervisor's office may see."""
from __future__ import annotations

from collections import Counter

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from app.web import committed, env, field_errors, once, role_required
from config import clock
from labels import charts
from mailing.states import EXCEPTION_REASONS
from tracking.federation import outbox
from tracking.model.errors import Refused
from tracking.commands import follow_ups
from tracking.model.inputs import parse
from tracking.model.states import BAD_SCORE, RATED_STAGES, SCORE_TITLES
from tracking.reads import postage
from tracking.reads import statistics as st
from tracking.reads import views
from tracking.reads import steps as step_reads

bp = Blueprint("supervise", __name__, url_prefix="/supervise")

CHART_ROWS = 15      # a chart shows the largest items; its table beside it has them all
TABLE_ROWS = 50      # a statistics table shows its first rows (the largest first); its CSV has them all
PAGE_ROWS = 300      # rows of a long list shown on the page; the CSV has them all
BOARD_ROWS = 100     # the overdue board's list: the longest overdue first, the CSV has them all
BOARD_OFFICES = 30   # the board's counts by office: the offices with most overdue first
RATING_ROWS = 2000
EXCEPTION_ROWS = 500



def csv_url(table: str) -> str:
    """This page with its filters, as the CSV of one of its tables."""
    args = request.args.to_dict()
    args.update(format="csv", table=table)
    return url_for(request.endpoint, **args)


@bp.context_processor
def _helpers():
    return {"csv_url": csv_url, "STAGE_TITLES": st.BOARD_TITLES, "STAGES": st.BOARD_STAGES}


def _export(tables: dict[str, st.Table], stem: str) -> Response | None:
    """With `format=csv`: the table named by `table` (the page's first by default) as a download."""
    if request.args.get("format") != "csv":
        return None
    name = request.args.get("table") or next(iter(tables))
    if name not in tables:
        abort(404)
    return Response(st.to_csv(tables[name]), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{stem}-{name}.csv"',
                             "Cache-Control": "no-store"})


def _date_arg(name: str, errors: dict, default=None):
    try:
        return st.parse_date(request.args.get(name)) or default
    except ValueError:
        errors[name] = "请按 年-月-日 填写日期，例如 2026-03-02。"
        return default


@bp.get("")
@role_required("supervisor")
def home():
    """The overdue board: counts by stage and responsible office, and the cases behind them."""
    errors: dict[str, str] = {}
    today = clock.beijing_date()
    as_of = _date_arg("as_of", errors, today)
    stage = request.args.get("stage", "")
    if stage and stage not in st.BOARD_STAGES:
        errors["stage"] = "请从列表中选择环节。"
        stage = ""
    office = request.args.get("office", "").strip()
    names = st.names(g.db)
    if request.args.get("format") == "csv":  # the export lists every item: read them all
        items = st.overdue_items(g.db, env().settings, g.actor, as_of)
        return _export(st.overdue_tables(items, st.filter_overdue(items, stage, office), names),
                       f"overdue-{as_of.isoformat()}")
    board = st.overdue_board(g.db, env().settings, g.actor, as_of, stage, office, BOARD_ROWS)
    tables = st.overdue_tables([], board.listed, names, board.counts)
    counts = tables["counts"]
    if len(counts.rows) > BOARD_OFFICES + 1:  # the offices with most overdue, and the total: the CSV has all
        tables["counts"] = st.Table(counts.name, counts.caption, counts.header,
                                    [*counts.rows[:BOARD_OFFICES], counts.rows[-1]],
                                    f"页面显示超期最多的 {BOARD_OFFICES} 个单位（共 {len(counts.rows) - 1} 个），全部请导出 CSV。")
    offices = sorted(set(board.counts) | ({office} if office else set()),
                     key=lambda code: (names.office(code), code))
    return render_template("supervise/home.html", errors=errors, as_of=as_of, today=today, stage=stage,
                           office=office, offices=offices, names=names, tables=tables, listed=board.listed,
                           shown=len(board.listed), total_listed=board.total_listed,
                           totals=board.totals, cases=board.cases)


@bp.get("/cases/<case_no>")
@role_required("supervisor")
def case(case_no):
    """A case the board lists, as a supervisor sees it (the applicant masked, read-only)."""
    return render_template("supervise/case.html", case=views.case_view(g.db, env(), g.actor, case_no))


@bp.get("/stats")
@role_required("supervisor")
def stats():
    """Volumes, median times per stage and ratings over a period, by office or by matter."""
    today = clock.beijing_date()
    period, errors = st.parse_period(request.args.get("since"), request.args.get("until"), today)
    by = request.args.get("by") or "office"
    if by not in st.GROUPINGS:
        errors["by"] = "请选择按单位或按事项统计。"
        by = "office"
    names = st.names(g.db)
    # grouped in the database (a province's year is millions of cases): only the groups come back
    registered = st.volumes(g.db, g.actor, period)
    decided = st.decided(g.db, g.actor, period, by)
    rated = st.rating_groups(g.db, g.actor, period, by)
    overall = st.overall_medians_of(st.stage_medians(g.db, g.actor, period).get("", {}))
    overall_table = st.Table("medians_overall", "各环节用时中位数（全部，单位：小时）",
                             ["环节", "中位数（小时）", "约合（天）", "件数"],
                             [[title, value, st.rounded(value / 24) if value is not None else None, count]
                              for _, title, value, count in overall], note=st.MEDIAN_PRECISION)
    volumes = {**st.volume_tables_of(registered, by, names), "volume_scope": st.scope_table_of(registered)}
    # the page's table of medians by office: the busiest offices of the period (the CSV has every office)
    shown, medians_limited = None, False
    if by == "office" and request.args.get("format") != "csv":
        busiest = Counter(dict(registered.by_collecting)) + Counter(dict(registered.by_owning))
        shown = [code for code, _ in busiest.most_common(TABLE_ROWS)]
        medians_limited = len(busiest) > len(shown)
    rating_tables = st.rating_tables(rated, by, names)
    rates = st.rates_table_of(decided, rated, by, names)
    postage_tables = postage.postage_tables(postage.charges(g.db, g.actor, period), names)
    tables = {**volumes, "medians_overall": overall_table,
              "medians": st.median_table_of(st.stage_medians(g.db, g.actor, period, by, shown), by, names),
              **rating_tables, "rates": rates, **postage_tables,
              **{table.name: table for table in step_reads.joint_tables(g.db, g.actor, period, names)}}
    exported = _export(tables, f"stats-{period.since.isoformat()}-{period.until.isoformat()}")
    if exported:
        return exported

    volume_charts = {name: charts.bar_chart([(row[0], row[1 if name == "volume_scope" else 2])
                                             for row in table.rows[:CHART_ROWS]],
                                            title=table.caption, chart_id=f"chart-{name}", unit=" 件")
                     for name, table in volumes.items()}
    on_time_rate, follow_up_rate = st.decided_rate(decided)[2], st.follow_up_rate(rated)[2]
    rates_chart = charts.bar_chart([(title, value) for title, value in (("按期办结率", on_time_rate),
                                                                       ("差评整改率", follow_up_rate))
                                    if value is not None], title="按期办结率与差评整改率（%）", chart_id="chart-rates",
                                   unit="%", decimals=1)
    median_chart = charts.bar_chart([(title, value) for _, title, value, _ in overall if value is not None],
                                    title="各环节用时中位数（小时）", chart_id="chart-medians", unit=" 小时",
                                    decimals=1)
    distribution = rating_tables["scores"].rows
    score_chart = charts.column_chart([(row[0], row[2]) for row in distribution], title="评价等级分布",
                                      chart_id="chart-scores", unit="",
                                      colors=[charts.ALERT if row[1] <= BAD_SCORE else charts.BRAND
                                              for row in distribution])
    return render_template("supervise/stats.html", errors=errors, period=period, by=by, tables=tables,
                           volume_charts=volume_charts, median_chart=median_chart, score_chart=score_chart,
                           rates_chart=rates_chart, on_time_rate=on_time_rate, follow_up_rate=follow_up_rate,
                           registered=registered.total, summary=st.summarise(rated),
                           chart_rows=CHART_ROWS, table_rows=TABLE_ROWS, medians_limited=medians_limited,
                           groupings=st.GROUPINGS,
                           stage_titles=[title for _, title, _ in st.TIMED_STAGES],
                           payers=[(row[1], row[0]) for row in postage_tables["postage_office"].rows if row[1]],
                           statement_month=period.until.strftime("%Y-%m"))


@bp.get("/postage")
@role_required("supervisor")
def postage_statement():
    """The statistics page's statement form: on to the office's statement (the API checks who may read it)."""
    office = (request.args.get("office") or "").strip().upper()
    kind = request.args.get("format") if request.args.get("format") in ("csv", "pdf") else "csv"
    if not office:
        flash("请选择要导出邮资结算清单的单位。", "error")
        return redirect(url_for(".stats"), 303)
    return redirect(url_for("api.office_postage", office_code=office, month=request.args.get("month") or None,
                            format=kind), 303)


@bp.get("/ratings")
@role_required("supervisor")
def ratings():
    """Recent evaluations, bad ones marked with their follow-up."""
    period, errors = st.parse_period(request.args.get("since"), request.args.get("until"), clock.beijing_date())
    only_bad, only_open = request.args.get("bad") == "1", request.args.get("open") == "1"
    rated = st.ratings(g.db, g.actor, period, only_bad=only_bad, only_open=only_open, limit=RATING_ROWS)
    names = st.names(g.db)
    table = st.ratings_list_table(rated, names)
    exported = _export({"ratings": table}, f"ratings-{period.since.isoformat()}-{period.until.isoformat()}")
    if exported:
        return exported
    return render_template("supervise/ratings.html", errors=errors, period=period, only_bad=only_bad,
                           only_open=only_open, rated=rated[:PAGE_ROWS], total=len(rated), names=names,
                           summary=st.summarise(rated), limit=RATING_ROWS, score_titles=SCORE_TITLES,
                           follow_up_titles=st.FOLLOW_UP_TITLES, bad_score=BAD_SCORE, rated_stages=RATED_STAGES)


@bp.post("/ratings/<case_no>/route")
@role_required("supervisor")
def reassign(case_no):
    """Routes an open bad rating to another stage (its office follows it up instead); the case's history
    records it. Back to the ratings with what was done, or with why not."""
    def run():
        try:
            made = follow_ups.reassign_follow_up(g.db, env(), g.actor, case_no,
                                                 parse(follow_ups.Reassignment, {"stage": request.form.get("stage")}))
        except Refused as e:
            g.db.rollback()
            flash(f"办件 {case_no}：{e.message}", "error")
            return redirect(url_for(".ratings", open=1), 303)
        committed()
        flash(f"办件 {case_no} 的差评已转交{RATED_STAGES[made.evaluation.stage]}"
              f"（{st.names(g.db).office(made.evaluation.follow_up_office)}），"
              f"整改期限 {made.evaluation.follow_up_due:%Y年%m月%d日}。", "success")
        return redirect(url_for(".ratings", open=1), 303)
    return once(run)


@bp.get("/exceptions")
@role_required("supervisor")
def exceptions():
    """Exception scans on the packets of the cases in scope (damaged, lost, misrouted …)."""
    period, errors = st.parse_period(request.args.get("since"), request.args.get("until"), clock.beijing_date())
    reason = request.args.get("reason", "")
    try:
        found = views.list_exceptions(g.db, g.actor, since=period.since, until=period.until,
                                      reason=reason or None, limit=EXCEPTION_ROWS)["exceptions"]
    except Refused as e:
        errors.update(field_errors(e))
        found = []
    table = st.exceptions_table(found, st.names(g.db))
    exported = _export({"exceptions": table}, f"exceptions-{period.since.isoformat()}-{period.until.isoformat()}")
    if exported:
        return exported
    return render_template("supervise/exceptions.html", errors=errors, period=period, reason=reason,
                           reasons=EXCEPTION_REASONS, table=table, found=found, limit=EXCEPTION_ROWS,
                           rows=list(zip(found, table.rows)))


def _waited(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes = seconds // 60
    if minutes >= 1440:
        return f"{minutes // 1440}天{minutes % 1440 // 60}小时"
    return f"{minutes // 60}小时{minutes % 60}分钟" if minutes >= 60 else f"{minutes}分钟"


@bp.get("/links")
@role_required("supervisor")
def links():
    """The health of every link to a peer or platform: what waits, fails, is dead-lettered, and since when."""
    found = outbox.link_health(g.db, env().settings)
    return render_template("supervise/links.html", links=found, waited=_waited,
                           troubled=sum(1 for link in found if link["dead"] or link["failing"]))

