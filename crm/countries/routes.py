"""Country list and country page with Rome Statute facts, their sources and their history."""

import datetime as dt
from functools import cache

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2.filters import do_truncate
from markupsafe import Markup, escape

from crm import clock
from crm.contacts.offices import GovernmentOffices, government_offices
from crm.countries.forms import (
    FACT_LABELS,
    CountryFilterForm,
    FactCorrectionForm,
    fact_in_words,
    standing_text,
)
from crm.countries.models import Country
from crm.countries.services import (
    CountryFacts,
    FactError,
    correct_fact,
    country_by_code,
    country_facts,
    fact_sources,
    list_filter_choices,
    search_countries,
)
from crm.countries.standing import Standing, standing
from crm.database import pageable
from crm.i18n import current_language, once_per_language
from crm.outreach.forms import follow_up_actions
from crm.outreach.routes import positions_table, timeline_list
from crm.outreach.services import filter_by_outreach, outreach_cards, outreach_stages
from crm.permissions import can, require
from crm.translation import gettext, ngettext
from crm.vocabulary import STAGE_LABELS, label
from crm.web import code_url, flash_message, form_status, id_url, id_url_parts, page_of, refusal

bp = Blueprint("countries", __name__, url_prefix="/countries")


@bp.app_template_global("rome_standing")
def rome_standing(country: Country, day: dt.date | None = None) -> Standing:
    """The country's Rome Statute standing on `day`, by default the reader's today."""
    return standing(country, day or clock.today(current_user if current_user.is_authenticated else None))


_ROME_BADGE = Markup('<span class="status status-%s%s">%s</span>')


@bp.app_template_global("rome_badge")
def rome_badge(country, day: dt.date | None = None) -> Markup:
    """A state's Rome Statute standing as the pages show it, in words (never only by colour), on `day` (the
    reader's today, which a list finds once): a function, not a macro, because the countries list shows
    one on each row. `country` is a Country or a row with its Rome Statute columns."""
    found = rome_standing(country, day)
    # A list shows the same few standings on most rows: each one's words are found once per request.
    return once_per_language(
        ("rome_badge", found),
        lambda: _ROME_BADGE % (found.status, " status-withdrawing" if found.withdrawing else "", standing_text(found)),
    )


bp.add_app_template_global(standing_text, "standing_text")
bp.add_app_template_global(fact_in_words, "fact_in_words")


def get_country_or_404(code: str) -> Country:
    country = country_by_code(code)
    if country is None:
        abort(404)
    return country


def _country_facts_or_404(code: str) -> CountryFacts:
    country = country_facts(code)
    if country is None:
        abort(404)
    return country


@bp.route("/")
@login_required
def index():
    form = CountryFilterForm(request.args)
    language = current_language()
    regions, campaigns, staff, campaign_names = list_filter_choices(language)
    form.region.choices = [("", gettext("Any")), *regions]
    form.campaign.choices = [("", gettext("Any")), *campaigns]
    form.assignee.choices = [("", gettext("Anyone")), *staff]
    form.validate()
    today = clock.today(current_user)
    filters = (form.q, form.status, form.region, form.campaign, form.stage, form.assignee)
    if any(field.data for field in filters):
        statement = search_countries(query=form.q.data, status=form.status.data, region=form.region.data, day=today)
        statement = filter_by_outreach(
            statement,
            current_user,
            campaign_slug=form.campaign.data,
            stage=form.stage.data,
            assignee_id=form.assignee.data,
        )
        statement = _list_columns(statement, language)
    else:
        statement = _unfiltered_list(language)
    page = page_of(statement, rows=True)
    stages = outreach_stages([country.id for country in page.items], current_user, campaign_slug=form.campaign.data)
    rows = _country_rows(page.items, stages, campaign_names, today)
    return render_template("countries/index.html", form=form, page=page, rows=rows)


def _list_columns(statement: sa.Select, language: str) -> sa.Select:
    """The columns the countries list shows, not the countries' whole records."""
    name = Country.name_es if language == "es" else Country.name_en
    return statement.with_only_columns(
        Country.id,
        Country.alpha3,
        name.label("name"),
        Country.rs_status,
        Country.rs_withdrawal_effective_date,
        Country.rs_verified,
        maintain_column_froms=True,
    )


@cache
def _unfiltered_list(language: str) -> sa.Select:
    # Most visits to the list filter nothing: its statement is built once for each language (filters given,
    # it is built for them on each request).
    return pageable(_list_columns(search_countries(), language))


def _country_rows(countries, stages: dict[int, list], campaign_names: dict[int, str], today: dt.date) -> Markup:
    """The countries list's rows: each country linked, its code, its Rome Statute standing on `today`,
    whether that is verified, and its outreach records (`stages`, by country id) a link each, one per line:
    "campaign: stage", the campaign's name (`campaign_names`, by id) cut as the template's truncate filter
    cuts it. Joined here, each value escaped: a page of fifty countries links some seven hundred records, of
    a few dozen campaigns and seven stages, and a template pays for every value it writes."""
    country_url = code_url("countries.show", "code")
    record_url, after_id = id_url_parts("outreach.show", "outreach_id")
    environment = current_app.jinja_env
    yes, not_yet = escape(gettext("yes")), escape(gettext("not yet"))
    stage_words = {stage: escape(label(STAGE_LABELS, stage)) for stage in STAGE_LABELS}
    names: dict[int, str] = {}  # each campaign's name, cut and escaped once
    # Each link's end, from its URL's after the record's id: the campaign's name and stage, said once.
    ends: dict[tuple[int, str], str] = {}
    rows = []
    for country in countries:
        lines = []
        for record_id, _country_id, stage, campaign_id in stages.get(country.id, ()):
            end = ends.get((campaign_id, stage))
            if end is None:
                name = names.get(campaign_id)
                if name is None:
                    name = names[campaign_id] = escape(do_truncate(environment, campaign_names[campaign_id], 30))
                text = f"{name}: {stage_words.get(stage) or escape(stage)}"
                end = ends[campaign_id, stage] = f'{after_id}">{text}</a>'
            # A record's URL is the route's with its id (an integer column): nothing in it to escape.
            lines.append(f'<a href="{record_url}{record_id}{end}')
        rows.append(
            f'\n    <tr>\n      <td><a href="{country_url(country.alpha3)}">{escape(country.name)}</a></td>'
            f"\n      <td>{escape(country.alpha3)}</td>\n      <td>{rome_badge(country, today)}</td>"
            f"\n      <td>{yes if country.rs_verified else not_yet}</td>\n      <td>{'<br>'.join(lines)}</td>"
            "\n    </tr>\n  "
        )
    return Markup("".join(rows))


def _office_items(offices: GovernmentOffices) -> Markup:
    """The country page's offices as the items of its list: each linked, with its city and host country,
    and its first people by name and title, then how many more it has. Joined here, each value escaped: a
    translation called in the template's loop costs Jinja a copy of the page's context, and ten offices of
    six lines each cost the template more in calls and lookups than what they write."""
    office_url = id_url("contacts.office", "office_id")
    items = []
    for office in offices.offices:
        # An office's URL is the route's with its id (a number): nothing in it to escape.
        url = office_url(office.id)
        people = offices.people.get(office.id)
        listed = ""
        if people:
            names = [
                f"<li>{escape(person.name)}, {escape(person.title)}</li>"
                if person.title
                else f"<li>{escape(person.name)}</li>"
                for person in people
            ]
            more = offices.people_count[office.id] - len(people)
            if more > 0:
                words = escape(ngettext("and %(num)s more person", "and %(num)s more people", more))
                names.append(f'<li><a href="{url}">{words}</a></li>')
            listed = f"<ul>{''.join(names)}</ul>"
        inactive = "" if office.active else ' class="inactive"'
        items.append(
            f'\n    <li{inactive}><strong><a href="{url}">{escape(office.name)}</a></strong> — {escape(office.city)},'
            f" {escape(office.host_name)}\n      {listed}\n    </li>\n  "
        )
    return Markup("".join(items))


@bp.app_template_global("card_sections")
def card_sections(cards, today: dt.date, action_forms, record_url) -> Markup:
    """The country page's cards (crm.outreach.services.outreach_cards), a section each: the campaign linking
    to the record, its stage and assignee, its positions table and its latest timeline entries, with the
    follow-ups' Done and Snooze forms (`action_forms`, a function of a follow-up's id) where the reader may
    change the record. Joined here, each value escaped: the template's calls for each card (its URL, its
    stage's word, two macros and their words) cost more than what they write."""
    # Each word a literal, for the catalogue's extraction to find.
    stage_word, assigned_to, nobody_yet = map(escape, (gettext("Stage"), gettext("Assigned to"), gettext("nobody yet")))
    timeline_word, earlier_entries = escape(gettext("Timeline")), escape(gettext("Earlier entries: the full timeline"))
    sections = []
    for card in cards:
        record = card.record
        # A record's URL is the route's with its id (a number): nothing in it to escape.
        url = record_url(record.id)
        stage = escape(label(STAGE_LABELS, record.stage))
        assignee = escape(record.assignee_name) if record.assignee_name else nobody_yet
        more = f'<p><a href="{url}#timeline">{earlier_entries}</a></p>' if card.more else ""
        sections.append(
            f'\n<section class="card outreach-card" aria-labelledby="card-{record.id}">'
            f'\n  <h2 id="card-{record.id}"><a href="{url}">{escape(record.campaign_name)}</a></h2>'
            f"\n  <p>{stage_word}: <strong>{stage}</strong> · {assigned_to}: {assignee}</p>"
            f"\n  {positions_table(record, card.demands, card.positions)}\n  <h3>{timeline_word}</h3>"
            f"\n  {timeline_list(card.timeline, today, action_forms if card.may_edit else None)}"
            f"\n  {more}\n</section>\n"
        )
    return Markup("".join(sections))


def _other_items(records, record_url) -> Markup:
    """The country page's other campaigns (older, or archived) as the items of their list: each record's
    campaign linking to its page, whether it is archived, its stage and its assignee. Joined here, each
    value escaped, as the offices are: a busy government is in some twenty campaigns, and the template's
    calls and lookups for each line cost more than what it writes."""
    archived = f' <span class="badge">{escape(gettext("Archived"))}</span>'
    nobody_yet = escape(gettext("nobody yet"))
    stage_words = {stage: escape(label(STAGE_LABELS, stage)) for stage in STAGE_LABELS}
    items = []
    for record in records:
        stage = stage_words.get(record.stage) or escape(record.stage)
        assignee = escape(record.assignee_name) if record.assignee_name else nobody_yet
        # A record's URL is the route's with its id (a number): nothing in it to escape.
        items.append(
            f'\n    <li><a href="{record_url(record.id)}">{escape(record.campaign_name)}</a>'
            f"{archived if record.archived else ''} · {stage} · {assignee}</li>\n  "
        )
    return Markup("".join(items))


def _render_country(country: CountryFacts, form, status=200):
    history = country.history
    offices = government_offices(country, current_user, language=current_language())
    cards = outreach_cards(country, current_user, language=current_language())
    record_url = id_url("outreach.show", "outreach_id")
    return render_template(
        "countries/show.html",
        country=country,
        sources=fact_sources(history),
        history=history,
        form=form,
        fact_labels=FACT_LABELS,
        offices=offices,
        office_items=_office_items(offices),
        cards=cards,
        other_items=_other_items(cards.others, record_url) if cards.others else None,
        today=clock.today(current_user),
        actions=follow_up_actions(current_user),
        record_url=record_url,
    ), status


@bp.route("/<code>")
@login_required
def show(code):
    country = _country_facts_or_404(code)
    return _render_country(country, FactCorrectionForm() if can(current_user, "edit_reference_data") else None)


@bp.route("/<code>/facts", methods=["POST"])
@login_required
@require("edit_reference_data")
def correct(code):
    country = get_country_or_404(code)
    form = FactCorrectionForm()
    if form.validate_on_submit():
        value = form.status.data if form.field.data == "status" else (form.date.data or "")
        try:
            correct_fact(
                country,
                form.field.data,
                value,
                source=form.source.data,
                verified=form.verified.data,
                actor=current_user,
            )
        except FactError as error:
            return _render_country(_country_facts_or_404(code), form, refusal(error, form, beside="field"))
        flash_message(gettext("Correction saved with its source."), "success")
        return redirect(url_for("countries.show", code=country.alpha3))
    return _render_country(_country_facts_or_404(code), form, form_status(form))
