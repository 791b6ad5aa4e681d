"""The public board at /p/<campaign-slug> (HTML, .json, .csv; no sign-in, cacheable, same page for
everyone) and the managers' page that decides what is on it."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from crm.board import services as boards
from crm.campaigns.services import demands_of
from crm.dashboard import services as dashboards
from crm.dashboard.exports import neutralise
from crm.dashboard.forms import response_label
from crm.dashboard.maps import country_paths, map_patterns, paint
from crm.i18n import current_language, show_date, visitors_language
from crm.permissions import get_campaign_or_404, require
from crm.translation import gettext
from crm.vocabulary import STANCE_LABELS, label
from crm.web import flash_message

bp = Blueprint("board", __name__)

PUBLIC_MAX_AGE = 300  # seconds a shared cache may keep the board


def _language() -> str:
    # A link per language, each cacheable: what a visitor chose earlier on the site does not count here.
    return visitors_language(remembered=False)


def _public(response: Response) -> Response:
    """The same answer for every visitor: cacheable by browsers and shared caches, revalidated by ETag."""
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    if "lang" not in request.args:
        response.vary.add("Accept-Language")
    response.add_etag()
    return response.make_conditional(request)


def _board_or_404(slug: str, language: str) -> boards.PublicBoard:
    campaign = boards.published_campaign(slug)
    board = boards.public_board(campaign, language) if campaign is not None else None
    if board is None:
        abort(404)
    return board


def _map(board: boards.PublicBoard):
    """The dashboard's world map, drawn from the public entries only."""
    governments = [
        SimpleNamespace(country=entry.country, response=entry.response, record=SimpleNamespace(id=entry.country.id))
        for entry in board.entries
    ]
    return dashboards.world_figures(SimpleNamespace(governments=governments), dashboards.all_countries())


def _public_label(response: str) -> str:
    """The dashboard's words, except that a government not on the board is just that: the public is not
    told which unpublished governments the campaign works on."""
    return gettext("Not on this board") if response == dashboards.NOT_TARGET else response_label(response)


def _stance(stance: str) -> str:
    return label(STANCE_LABELS, stance)


@bp.route("/p/<slug>")
def public(slug):
    language = _language()
    with force_locale(language):
        board = _board_or_404(slug, language)
        html = render_template(
            "board/public.html",
            board=board,
            language=language,
            world=_map(board),
            campaign=board.campaign,
            public=True,
            standalone=False,
            map_patterns=map_patterns,
            paint=paint,
            country_paths=country_paths,
            response_label=_public_label,
            response_labels={css_class: _public_label(css_class) for css_class in dashboards.MAP_CLASSES},
            map_classes=dashboards.MAP_CLASSES,
            stance_text=_stance,
            day=lambda value: show_date(value, language),
        )
    return _public(Response(html, mimetype="text/html"))


def _rows(board: boards.PublicBoard, language: str) -> list[dict]:
    rows = []
    for entry in board.entries:
        row = {
            "country": entry.country.name(language),
            "iso3": entry.country.alpha3,
            "response": entry.response,
            "positions": [],
            "cosigners": {
                "organisations": [{"name": c.name, "website": c.website} for c in entry.cosigners.named],
                "withheld": entry.cosigners.withheld,
            },
        }
        for demand in board.demands:
            position = entry.positions.get(demand.id)
            row["positions"].append(
                {
                    "demand": demand.code,
                    "stance": position.stance if position else None,
                    "stated_on": position.stated_on.isoformat() if position else None,
                    "evidence": position.evidence if position else None,
                    "evidence_url": position.evidence_url if position else None,
                }
            )
        rows.append(row)
    return rows


@bp.route("/p/<slug>.json")
def public_json(slug):
    language = _language()
    with force_locale(language):
        board = _board_or_404(slug, language)
        body = {
            "campaign": {"slug": board.campaign.slug, "name": board.campaign.display_name(language)},
            "published_at": board.published_at.isoformat(),
            "demands": [{"code": d.code, "title": d.text(language)[0]} for d in board.demands],
            "governments": _rows(board, language),
            "signers": {
                "total": board.signers,
                "by_country": [{"iso3": c.alpha3, "signers": n} for c, n in board.signers_by_country],
            },
            "statements": [
                {
                    "title": s.title,
                    "language": s.language,
                    "url": url_for("statements.public", slug=s.slug, lang=language),
                    "signatures": s.signatures,
                }
                for s in board.statements
            ],
        }
    return _public(Response(json.dumps(body, ensure_ascii=False, indent=1), mimetype="application/json"))


@bp.route("/p/<slug>.csv")
def public_csv(slug):
    language = _language()
    with force_locale(language):
        board = _board_or_404(slug, language)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        header = ["country", "iso3", "response"]
        for demand in board.demands:
            header += [
                f"{demand.code}_stance",
                f"{demand.code}_since",
                f"{demand.code}_evidence",
                f"{demand.code}_evidence_url",
            ]
        header += ["cosigning_organisations", "cosigning_organisations_withheld"]
        writer.writerow(header)
        for row in _rows(board, language):
            cells = [row["country"], row["iso3"], row["response"]]
            for position in row["positions"]:
                cells += [
                    position["stance"] or "",
                    position["stated_on"] or "",
                    position["evidence"] or "",
                    position["evidence_url"] or "",
                ]
            cosigners = row["cosigners"]
            cells += ["; ".join(c["name"] for c in cosigners["organisations"]), cosigners["withheld"]]
            # Names typed by the public (and evidence by staff) are text, never a spreadsheet formula.
            writer.writerow([neutralise(cell) for cell in cells])
    response = Response(
        out.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'inline; filename="{board.campaign.slug}-board.csv"'},
    )
    return _public(response)


# --- what is on it (managers and admins) ------------------------------------------------------------------


def _ids(name: str) -> set[int]:
    ids = set()
    for value in request.form.getlist(name):
        if value.isdigit() and len(value) < 12:
            ids.add(int(value))
    return ids


@bp.route("/campaigns/<slug>/board", methods=["GET", "POST"])
@login_required
@require("publish_board")
def manage(slug):
    campaign = get_campaign_or_404(slug)
    if request.method == "POST":
        action = request.form.get("action")
        if action == "publish":
            boards.publish(campaign, actor=current_user)
            message = gettext("The board is public at %(url)s.", url=url_for("board.public", slug=campaign.slug))
        elif action == "unpublish":
            boards.unpublish(campaign, actor=current_user)
            message = gettext("The board is no longer public.")
        else:
            entries, positions = boards.set_published(
                campaign, records=_ids("entry"), positions=_ids("position"), actor=current_user
            )
            message = gettext(
                "Saved: %(entries)d governments and %(positions)d positions are public.",
                entries=entries,
                positions=positions,
            )
        flash_message(message, "success")
        return redirect(url_for("board.manage", slug=campaign.slug))
    return render_template(
        "board/manage.html",
        campaign=campaign,
        published=boards.is_published(campaign),
        choices=boards.choices(campaign, current_language()),
        demands=demands_of(campaign.id),
        stance_text=_stance,
    )
