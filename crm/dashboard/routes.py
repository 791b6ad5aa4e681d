"""Dashboard pages: a campaign's figures, its world map as SVG, and the CSV exports. Managers and admins
only; anyone else gets 404, as for any page they may not see."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, abort, get_template_attribute, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from crm import clock
from crm.campaigns.services import campaign_overview
from crm.dashboard import exports
from crm.dashboard import services as dashboards
from crm.dashboard.forms import MatrixFilterForm, action_label, filter_fields, response_label
from crm.dashboard.maps import (
    country_paths,
    map_patterns,
    map_table_rows,
    paint,
    shapes_file,
)
from crm.dashboard.tables import over_time, overdue_owners
from crm.i18n import current_language
from crm.outreach import services as outreach_services
from crm.permissions import get_campaign_or_404
from crm.translation import gettext
from crm.vocabulary import STANCE_LABELS, label
from crm.web import id_url, path_for, requested_page

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def _filter_form() -> MatrixFilterForm:
    form = MatrixFilterForm(request.args)
    regions, staff = dashboards.filter_choices(current_language())
    form.region.choices = [("", form.region.choices[0][1]), *regions]
    form.assignee.choices = [("", form.assignee.choices[0][1]), ("none", gettext("Nobody")), *staff]
    form.validate()
    return form


def _shapes_url() -> str:
    return path_for("dashboard.shapes", fingerprint=shapes_file()[1])


def _drawing_helpers() -> dict:
    return {
        "map_patterns": map_patterns,
        "shapes_url": _shapes_url,
        "paint": paint,
        "country_paths": country_paths,
        "map_table_rows": map_table_rows,
        "overdue_owners": overdue_owners,
        "filter_fields": filter_fields,
        "response_label": response_label,
        "action_label": action_label,
        "map_classes": dashboards.MAP_CLASSES,
        "responses": dashboards.RESPONSES,
        # Each word once per page, for the lists that repeat them on every row.
        "response_labels": {css_class: response_label(css_class) for css_class in dashboards.MAP_CLASSES},
        "stance_labels": {stance: label(STANCE_LABELS, stance) for stance in STANCE_LABELS},
    }


@bp.route("/")
@login_required
def index():
    if not dashboards.may_view_dashboard(current_user):
        abort(404)
    return render_template("dashboard/index.html", campaigns=campaign_overview())


@bp.route("/<slug>")
@login_required
def campaign(slug):
    campaign = get_campaign_or_404(slug, need="dashboard")
    form = _filter_form()
    filters = form.filters()
    today = clock.today(current_user)
    language = current_language()
    all_months = request.args.get("months") == "all"
    board = dashboards.dashboard(
        campaign, current_user, language=language, today=today, all_months=all_months, **filters
    )
    helpers = _drawing_helpers()

    @cache
    def piece_values() -> dict:  # made once a view, and only if a piece is to be drawn
        return _piece_values(campaign, board, filters, language, helpers)

    def kept_piece(name: str, *key) -> Markup:
        """templates/dashboard/_NAME.html, drawn from the campaign's kept figures, and from `key` and what
        follows alone: the campaign's name, address and start (its monthly series begins there; none of the
        three renews the figures' number), the language (the kept figures') and where the app is served."""
        return board.kept.piece(
            (name, campaign.slug, campaign.display_name(language), campaign.starts_on, request.script_root, *key),
            lambda: render_template(f"dashboard/_{name}.html", **piece_values()),
        )

    filtered = tuple(sorted(filters.items()))
    return render_template(
        "dashboard/campaign.html",
        campaign=campaign,
        board=board,
        form=form,
        filters=filters,
        glance=kept_piece("glance", today),
        matrix_table=kept_piece("matrix_preview", today, filtered),
        over_time=kept_piece("over_time", all_months, filtered),
        may_export=dashboards.may_export(current_user),
        by_record=board.kept.by_record,
        signatures=board.signatures,
        **helpers,
    )


def _piece_values(campaign, board, filters, language, helpers) -> dict:
    """What the dashboard's kept pieces read (templates/dashboard/_glance.html, _matrix_preview.html and
    _over_time.html), given whole: set in a template, each translation called after it cost Jinja a copy of
    the page's whole context."""
    response = get_template_attribute("dashboard/_macros.html", "response")
    return {
        "campaign": campaign,
        "board": board,
        "filters": filters,
        "figures": board.figures,
        "demands": board.figures.demands,
        # The whole matrix's address, narrowed by one response or stage in the summary's links (their values
        # are plain words, written as url_for would write them).
        "positions_url": url_for("dashboard.positions", slug=campaign.slug),
        # Each response's badge made once: the tables repeat them.
        "badges": {css_class: response(css_class, paint, response_label) for css_class in dashboards.MAP_CLASSES},
        "stage_top": board.stage_top,
        "record_url": id_url("outreach.show", "outreach_id"),
        "matrix_preview": dashboards.MATRIX_PREVIEW,
        "over_time": over_time(board.over_time, dashboards.RESPONSES, language, helpers["response_labels"]),
        **helpers,
    }


@bp.route("/<slug>/positions")
@login_required
def positions(slug):
    """The whole countries x demands matrix, narrowed by the dashboard's filters, a page at a time."""
    campaign = get_campaign_or_404(slug, need="dashboard")
    form = _filter_form()
    figures = dashboards.campaign_figures(campaign, current_user, current_language())
    governments = dashboards.matrix(figures, **form.filters())
    page = outreach_services.paged(governments, request.args.get("page", type=int), dashboards.POSITIONS_PAGE)
    return render_template(
        "dashboard/positions.html",
        campaign=campaign,
        figures=figures,
        form=form,
        filters=form.filters(),
        governments=governments,
        page=page,
        may_export=dashboards.may_export(current_user),
        **_drawing_helpers(),
    )


@bp.route("/<slug>/changes")
@login_required
def changes(slug):
    """Every change to the campaign's records, newest first, a page at a time."""
    campaign = get_campaign_or_404(slug, need="dashboard")
    kept = dashboards.kept_figures(campaign, current_user, current_language())
    page = dashboards.changes_page(campaign, requested_page())
    return render_template(
        "dashboard/changes.html", campaign=campaign, page=page, by_record=kept.by_record, **_drawing_helpers()
    )


@bp.route("/<slug>/map.svg")
@login_required
def map_svg(slug):
    campaign = get_campaign_or_404(slug, need="dashboard")
    kept = dashboards.kept_figures(campaign, current_user, current_language())
    world, _rows = kept.world(campaign, clock.today(current_user))
    svg = render_template(
        "dashboard/_world_map.html", campaign=campaign, world=world, standalone=True, **_drawing_helpers()
    )
    # The campaign's data, for signed-in staff: never kept by a shared cache.
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.route("/shapes-<fingerprint>.svg")
def shapes(fingerprint):
    """The countries' outlines that the dashboard's map draws from (maps.shapes_file): the same for everyone,
    and never changed under its URL, which names its content; so no sign-in, and kept for good by any cache."""
    data, current = shapes_file()
    if fingerprint != current:
        abort(404)
    return Response(data, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=31536000, immutable"})


def _csv_response(text: str, filename: str) -> Response:
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _record_url(record_id: int) -> str:
    return url_for("outreach.show", outreach_id=record_id, _external=True) + "#positions"


@bp.route("/<slug>/matrix.csv")
@login_required
def matrix_csv(slug):
    campaign = get_campaign_or_404(slug, need="export")
    form = _filter_form()
    language = current_language()
    figures = dashboards.campaign_figures(campaign, current_user, language)
    today = clock.today(current_user)
    governments = dashboards.matrix(figures, day=today, **form.filters())
    header, rows = exports.matrix_table(
        figures,
        governments,
        language=language,
        record_url=_record_url,
        region_names=dict(form.region.choices),
        day=today,
    )
    exports.record_export("matrix", actor=current_user, campaign=campaign, rows=len(rows), filters=form.filters())
    return _csv_response(exports.to_csv(header, rows), f"{campaign.slug}-matrix-{today}.csv")


@bp.route("/<slug>/outreach.csv")
@login_required
def outreach_csv(slug):
    campaign = get_campaign_or_404(slug, need="export")
    language = current_language()
    figures = dashboards.campaign_figures(campaign, current_user, language, with_people=True)
    header, rows = exports.outreach_table(figures, language=language, record_url=_record_url)
    exports.record_export("outreach", actor=current_user, campaign=campaign, rows=len(rows))
    return _csv_response(exports.to_csv(header, rows), f"{campaign.slug}-outreach-{clock.today(current_user)}.csv")
