"""Country list and country page with Rome Statute facts, their sources and their history."""
import sqlalchemy as sa
from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from crm.countries import bp
from crm.countries.forms import FACT_LABELS, STATUS_LABELS, CountryFilterForm, FactCorrectionForm
from crm.countries.models import Country, CountryFactChange, Region
from crm.countries.services import FactError, correct_fact, country_by_code, fact_sources, search_countries
from crm.extensions import db
from crm.i18n import current_language
from crm.permissions import can, require
from crm.web import flash_message


def get_country_or_404(code: str) -> Country:
    country = country_by_code(code)
    if country is None:
        abort(404)
    return country


@bp.route("/")
@login_required
def index():
    form = CountryFilterForm(request.args)
    language = current_language()
    regions = db.session.scalars(sa.select(Region).order_by(Region.level, Region.name_en)).all()
    form.region.choices = [("", gettext("Any"))] + [
        (region.code, region.name_es if language == "es" else region.name_en) for region in regions]
    form.validate()
    statement = search_countries(query=form.q.data, status=form.status.data, region=form.region.data)
    page = db.paginate(statement, per_page=current_app.config["ITEMS_PER_PAGE"], error_out=False)
    return render_template("countries/index.html", form=form, page=page, status_labels=STATUS_LABELS)


@bp.route("/<code>")
@login_required
def show(code):
    country = get_country_or_404(code)
    history = db.session.scalars(
        sa.select(CountryFactChange).where(CountryFactChange.country_id == country.id)
        .order_by(CountryFactChange.id.desc())
        .options(sa.orm.selectinload(CountryFactChange.changed_by))
    ).all()
    form = FactCorrectionForm() if can(current_user, "edit_reference_data") else None
    return render_template("countries/show.html", country=country, sources=fact_sources(country), history=history,
                           form=form, fact_labels=FACT_LABELS, status_labels=STATUS_LABELS)


@bp.route("/<code>/facts", methods=["POST"])
@login_required
@require("edit_reference_data")
def correct(code):
    country = get_country_or_404(code)
    form = FactCorrectionForm()
    if form.validate_on_submit():
        value = form.status.data if form.field.data == "status" else (form.date.data or "")
        try:
            correct_fact(country, form.field.data, value, source=form.source.data, verified=form.verified.data,
                         actor=current_user)
        except FactError as error:
            form.field.errors.append(str(error))
        else:
            db.session.commit()
            flash_message(gettext("Correction saved with its source."), "success")
            return redirect(url_for("countries.show", code=country.alpha3))
    history = db.session.scalars(sa.select(CountryFactChange).where(CountryFactChange.country_id == country.id)
                                 .order_by(CountryFactChange.id.desc())).all()
    return render_template("countries/show.html", country=country, sources=fact_sources(country), history=history,
                           form=form, fact_labels=FACT_LABELS, status_labels=STATUS_LABELS), 400
