"""The demo campaign: "Justice for Venezuela" (2018) with real governments and evidence, fictional people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from crm import clock
from crm.accounts.models import User
from crm.accounts.services import create_user_without_sign_in, find_by_email
from crm.audit import services as audit
from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign, Demand
from crm.campaigns.services import DemandWording, create_campaign
from crm.campaigns.targets import add_targets
from crm.contacts.models import FICTIONAL_CONTACT_NOTE, Contact, Office, Post
from crm.contacts.offices import DuplicateOffice, create_office
from crm.contacts.services import DuplicateContact, create_contact, move_contact
from crm.countries.models import Country
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.letters.letter_templates import find_template, save_template
from crm.letters.models import Letter, LetterTemplate
from crm.letters.services import (
    compose_letter,
    log_reply,
    mark_acknowledged,
    mark_delivered,
    mark_sent,
)
from crm.outreach.assignments import claim
from crm.outreach.models import (
    FollowUp,
    Meeting,
    OutreachRecord,
    Position,
    meeting_contact,
    meeting_outreach,
    meeting_staff,
)
from crm.outreach.services import (
    add_follow_up,
    complete_follow_up,
    log_meeting,
    record_position,
    set_stage,
    snooze_follow_up,
    update_record,
)

DEMO_CAMPAIGN_SLUG = "justice-for-venezuela-2018"
UTC = dt.UTC
# Who the audit log names for what the demo sets up: its staff accounts, the campaign and its targets, the
# offices, contacts and letter templates. The work on the records is done by its fictional staff.
DEMO_ACTOR = "demo"
# The demo's letters are composed from this template, in each language they are written in.
DEMO_TEMPLATE = "Justice for Venezuela (demo)"

CAMPAIGN = {
    "slug": DEMO_CAMPAIGN_SLUG,
    "name": "Justice for Venezuela",
    "description": (
        'DEMO DATA — a sample campaign built on the call "Justice for Venezuela", launched on 20 May 2018 '
        "by Venezuelans around the world to ask the governments of the free world to take a stand on three "
        "demands. The governments, institutions and the evidence behind each position are real and sourced; "
        "every contact, staff user, meeting, letter and follow-up is fictional."
    ),
    "starts_on": dt.date(2018, 5, 20),
}

# (code, English title, English description, Spanish title, Spanish description); in campaign order.
DEMANDS = (
    (
        "repudiate-election",
        "Repudiate the election",
        "Global disregard of the presidential election of 20 May 2018 convened by the Constituent National "
        "Assembly, held to be unconstitutional.",
        "Desconocer la elección",
        "Que el mundo desconozca la elección presidencial del 20 de mayo de 2018, convocada por la Asamblea "
        "Nacional Constituyente y considerada inconstitucional.",
    ),
    (
        "refugee-solidarity",
        "Refugee solidarity",
        "Countries receiving Venezuelan migrants should put in place the solidarity mechanisms that UNHCR "
        "called for in March 2018.",
        "Solidaridad con los refugiados",
        "Que los países que reciben a migrantes venezolanos pongan en marcha los mecanismos de solidaridad "
        "que el ACNUR pidió en marzo de 2018.",
    ),
    (
        "icc-referral",
        "ICC referral",
        "At least one state party to the Rome Statute should refer the situation in Venezuela to the "
        "International Criminal Court, and a formal investigation should open into crimes against humanity.",
        "Remisión a la Corte Penal Internacional",
        "Que al menos un Estado Parte del Estatuto de Roma remita la situación de Venezuela a la Corte Penal "
        "Internacional y que se abra una investigación formal por crímenes de lesa humanidad.",
    ),
)

# Staff who own the demo's records. No password: they exist to be assigned, never to sign in.
# key: (e-mail, name, role, language, timezone)
USERS = {
    "coord_es": ("coordinadora.demo@example.org", "Ana Ejemplo (demo)", "coordinator", "es", "Europe/Madrid"),
    "coord_en": ("coordinator.demo@example.org", "Chris Sample (demo)", "coordinator", "en", "America/Toronto"),
    "vol_a": ("voluntaria.demo@example.org", "Luisa Muestra (demo)", "volunteer", "es", "America/Santiago"),
    "vol_b": ("voluntario.demo@example.org", "Pedro Prueba (demo)", "volunteer", "es", "Europe/Madrid"),
    "vol_en": ("volunteer.demo@example.org", "Sam Placeholder (demo)", "volunteer", "en", "Europe/London"),
}

# The nine governments the call named, then the three referring states it did not name.
# (country, stage, priority 1-3, assignee, coordinator)
OUTREACH = (
    ("FRA", "responded", 1, "vol_en", "coord_en"),
    ("CAN", "committed", 1, "vol_en", "coord_en"),
    ("CHE", "contacted", 2, "vol_b", "coord_es"),
    ("ARG", "committed", 1, "vol_a", "coord_es"),
    ("DEU", "contacted", 2, "vol_en", "coord_en"),
    ("ESP", "meeting_requested", 1, "vol_b", "coord_es"),
    ("CRI", "meeting_held", 2, "vol_a", "coord_es"),
    ("SWE", "not_started", 3, None, "coord_en"),
    ("GBR", "meeting_requested", 2, "vol_en", "coord_en"),
    ("CHL", "closed", 2, "vol_a", "coord_es"),
    ("COL", "responded", 1, "vol_b", "coord_es"),
    ("PER", "closed", 3, "vol_a", "coord_es"),
    ("PRY", "meeting_held", 3, "vol_b", "coord_es"),
)

# Real institutions. Phone numbers, e-mail addresses and websites are left empty on purpose: the demo
# must not hand anyone a wrong way to reach a real office.
# key: (government, kind, name, city, host country, notes)
OFFICES = {
    # Foreign ministries, in their capitals.
    "fra-mfa": ("FRA", "ministry", "Ministère de l'Europe et des Affaires étrangères", "Paris", "FRA", None),
    "can-gac": ("CAN", "ministry", "Global Affairs Canada", "Ottawa", "CAN", None),
    "che-fdfa": ("CHE", "ministry", "Federal Department of Foreign Affairs (FDFA)", "Bern", "CHE", None),
    "arg-mre": (
        "ARG",
        "ministry",
        "Cancillería — Ministerio de Relaciones Exteriores, Comercio Internacional y Culto",
        "Buenos Aires",
        "ARG",
        None,
    ),
    "deu-aa": ("DEU", "ministry", "Auswärtiges Amt (Federal Foreign Office)", "Berlin", "DEU", None),
    "esp-maec": (
        "ESP",
        "ministry",
        "Ministerio de Asuntos Exteriores, Unión Europea y Cooperación",
        "Madrid",
        "ESP",
        None,
    ),
    "cri-mre": ("CRI", "ministry", "Ministerio de Relaciones Exteriores y Culto", "San José", "CRI", None),
    "swe-ud": ("SWE", "ministry", "Utrikesdepartementet (Ministry for Foreign Affairs)", "Stockholm", "SWE", None),
    "gbr-fcdo": (
        "GBR",
        "ministry",
        "Foreign, Commonwealth & Development Office",
        "London",
        "GBR",
        "The Foreign and Commonwealth Office in 2018; renamed when it merged with DFID in 2020.",
    ),
    "col-mre": (
        "COL",
        "ministry",
        "Ministerio de Relaciones Exteriores — Cancillería de Colombia",
        "Bogotá",
        "COL",
        None,
    ),
    # Embassies in Caracas.
    "can-caracas": ("CAN", "embassy", "Embassy of Canada in Venezuela", "Caracas", "VEN", None),
    "fra-caracas": ("FRA", "embassy", "Ambassade de France au Venezuela", "Caracas", "VEN", None),
    "esp-caracas": ("ESP", "embassy", "Embajada de España en Venezuela", "Caracas", "VEN", None),
    # Permanent missions to the United Nations, where the ICC referral was announced.
    "arg-un": (
        "ARG",
        "permanent_mission",
        "Misión Permanente de la República Argentina ante las Naciones Unidas",
        "New York",
        "USA",
        None,
    ),
    "can-un": (
        "CAN",
        "permanent_mission",
        "Permanent Mission of Canada to the United Nations",
        "New York",
        "USA",
        None,
    ),
    "chl-un": (
        "CHL",
        "permanent_mission",
        "Misión Permanente de Chile ante las Naciones Unidas",
        "New York",
        "USA",
        None,
    ),
    "per-un": (
        "PER",
        "permanent_mission",
        "Misión Permanente del Perú ante las Naciones Unidas",
        "New York",
        "USA",
        None,
    ),
    "pry-un": (
        "PRY",
        "permanent_mission",
        "Misión Permanente del Paraguay ante las Naciones Unidas",
        "New York",
        "USA",
        None,
    ),
    # Embassies in Madrid, home to a large part of the diaspora, where signatures were to be delivered.
    "fra-madrid": ("FRA", "embassy", "Ambassade de France en Espagne", "Madrid", "ESP", None),
    "che-madrid": ("CHE", "embassy", "Embajada de Suiza en España", "Madrid", "ESP", None),
    "deu-madrid": ("DEU", "embassy", "Embajada de la República Federal de Alemania en España", "Madrid", "ESP", None),
    "cri-madrid": ("CRI", "embassy", "Embajada de Costa Rica en España", "Madrid", "ESP", None),
    "swe-madrid": ("SWE", "embassy", "Embajada de Suecia en España", "Madrid", "ESP", None),
    "col-madrid": ("COL", "embassy", "Embajada de Colombia en España", "Madrid", "ESP", None),
    # Spain's parliament: its foreign affairs committee is also lobbied.
    "esp-congreso": ("ESP", "parliament", "Congreso de los Diputados", "Madrid", "ESP", None),
}

# Invented people, with junior titles so that no one mistakes them for the real holder of a senior post.
# key: (office, name, title, e-mail, language, in post since)
CONTACTS = {
    "claire": (
        "fra-madrid",
        "Claire Fictive",
        "Conseillère politique",
        "claire.fictive@example.org",
        "fr",
        dt.date(2016, 9, 1),
    ),
    "julien": ("fra-mfa", "Julien Exemple", "Rédacteur Venezuela", None, "fr", dt.date(2017, 9, 1)),
    "morgan": (
        "can-gac",
        "Morgan Placeholder",
        "Desk officer, Venezuela",
        "morgan.placeholder@example.org",
        "en",
        dt.date(2017, 8, 14),
    ),
    "taylor": ("can-un", "Taylor Sample", "First Secretary", None, "en", dt.date(2018, 8, 1)),
    "max": ("che-madrid", "Max Muster", "Primer secretario", None, "de", dt.date(2017, 10, 1)),
    "martin": ("arg-un", "Martín Ejemplo", "Consejero", "martin.ejemplo@example.org", "es", dt.date(2016, 3, 1)),
    "erika": ("deu-madrid", "Erika Mustermann", "Referentin für Lateinamerika", None, "de", dt.date(2017, 7, 15)),
    "lucia": (
        "esp-maec",
        "Lucía Ficticia",
        "Jefa de área, Países Andinos",
        "lucia.ficticia@example.org",
        "es",
        dt.date(2016, 1, 11),
    ),
    "diego": (
        "esp-congreso",
        "Diego Supuesto",
        "Asesor, Comisión de Asuntos Exteriores",
        None,
        "es",
        dt.date(2016, 7, 19),
    ),
    "andrea": ("cri-madrid", "Andrea Ejemplar", "Consejera", "andrea.ejemplar@example.org", "es", dt.date(2017, 2, 1)),
    "anna": ("swe-madrid", "Anna Exempel", "Second Secretary", None, "sv", dt.date(2018, 1, 8)),
    "john": (
        "gbr-fcdo",
        "John Placeholder",
        "Desk Officer, Venezuela",
        "john.placeholder@example.org",
        "en",
        dt.date(2017, 4, 3),
    ),
    "camila": ("chl-un", "Camila Muestra", "Consejera", "camila.muestra@example.org", "es", dt.date(2017, 3, 1)),
    "andres": ("col-madrid", "Andrés Ficticio", "Primer secretario", None, "es", dt.date(2016, 8, 1)),
    "rosa": ("per-un", "Rosa Modelo", "Consejera", None, "es", dt.date(2017, 1, 16)),
    "hugo": ("pry-un", "Hugo Prototipo", "Segundo secretario", "hugo.prototipo@example.org", "es", dt.date(2018, 2, 1)),
}

# Diplomats rotate; a contact's earlier posts show the history stays true after a move. Each post ends the
# day the next one starts (crm.contacts.services.move_contact), the last on the day in CONTACTS.
# key: ((office, title, started_on), ...), oldest first
EARLIER_POSTS = {
    "julien": (("fra-caracas", "Deuxième secrétaire", dt.date(2014, 9, 1)),),
}

# key: office, held at (UTC), outreach countries, contacts, staff, summary, outcome
MEETINGS = {
    "cri-delivery": {
        "office": "cri-madrid",
        "held_at": dt.datetime(2018, 6, 20, 10, 0, tzinfo=UTC),
        "countries": ("CRI",),
        "contacts": ("andrea",),
        "staff": ("vol_a", "coord_es"),
        "summary": "Fictional demo meeting: delivered the campaign's letter and the signatures gathered in "
        "Spain, and presented the three demands.",
        "outcome": "The counsellor undertook to forward the demands to San José.",
    },
    "fra-delivery": {
        "office": "fra-madrid",
        "held_at": dt.datetime(2018, 6, 21, 9, 30, tzinfo=UTC),
        "countries": ("FRA",),
        "contacts": ("claire",),
        "staff": ("vol_en",),
        "summary": "Fictional demo meeting: handed over the letter in French and explained the call for an "
        "ICC referral.",
        "outcome": "The embassy will send the letter to the ministry in Paris.",
    },
    # One meeting with two missions sits on both governments' records.
    "arg-chl-joint": {
        "office": "arg-un",
        "held_at": dt.datetime(2018, 10, 10, 15, 0, tzinfo=UTC),
        "countries": ("ARG", "CHL"),
        "contacts": ("martin", "camila"),
        "staff": ("coord_es", "vol_a"),
        "summary": "Fictional demo joint meeting with the missions of Argentina and Chile: thanked them for the "
        "referral of 26 September 2018 and asked about support for receiving countries (demand 2).",
        "outcome": "Both missions agreed to a follow-up call on demand 2.",
    },
    "pry-mission": {
        "office": "pry-un",
        "held_at": dt.datetime(2018, 10, 11, 14, 0, tzinfo=UTC),
        "countries": ("PRY",),
        "contacts": ("hugo",),
        "staff": ("vol_b",),
        "summary": "Fictional demo meeting: presented the diaspora's thanks for the referral and the signature "
        "totals from Paraguay.",
        "outcome": "The mission asked for a short note on demand 2.",
    },
}

# The same letter in each language the demo writes in; every body says it is fictional.
LETTER_BODIES = {
    "en": (
        "Fictional demo letter.\n\n"
        'On 20 May 2018 Venezuelans around the world launched the call "Justice for Venezuela". On behalf of '
        "its signers we ask your government to:\n"
        "1. disregard the presidential election of 20 May 2018, convened by the Constituent National Assembly;\n"
        "2. put in place the solidarity mechanisms for Venezuelan migrants that UNHCR called for in March 2018;\n"
        "3. refer the situation in Venezuela to the International Criminal Court, or support a referral, so that "
        "a formal investigation into crimes against humanity can open.\n\n"
        "We would welcome a meeting to discuss these demands."
    ),
    "es": (
        "Carta ficticia de demostración.\n\n"
        "El 20 de mayo de 2018, venezolanos de todo el mundo lanzaron la convocatoria «Justicia para "
        "Venezuela». En nombre de sus firmantes, pedimos a su gobierno:\n"
        "1. desconocer la elección presidencial del 20 de mayo de 2018, convocada por la Asamblea Nacional "
        "Constituyente;\n"
        "2. poner en marcha los mecanismos de solidaridad con los migrantes venezolanos que el ACNUR pidió en "
        "marzo de 2018;\n"
        "3. remitir la situación de Venezuela a la Corte Penal Internacional, o apoyar una remisión, para que "
        "se abra una investigación formal por crímenes de lesa humanidad.\n\n"
        "Quedamos a su disposición para una reunión sobre estas exigencias."
    ),
    "fr": (
        "Lettre fictive de démonstration.\n\n"
        "Le 20 mai 2018, des Vénézuéliens du monde entier ont lancé l'appel « Justice pour le Venezuela ». "
        "Au nom de ses signataires, nous demandons à votre gouvernement :\n"
        "1. de ne pas reconnaître l'élection présidentielle du 20 mai 2018, convoquée par l'Assemblée "
        "nationale constituante ;\n"
        "2. de mettre en place les mécanismes de solidarité envers les migrants vénézuéliens demandés par le "
        "HCR en mars 2018 ;\n"
        "3. de déférer la situation au Venezuela à la Cour pénale internationale, ou de soutenir un renvoi, "
        "afin qu'une enquête formelle pour crimes contre l'humanité soit ouverte.\n\n"
        "Nous serions heureux de vous rencontrer pour en discuter."
    ),
}

SUBJECTS = {
    "en": "Justice for Venezuela: three demands from the Venezuelan diaspora",
    "es": "Justicia para Venezuela: tres exigencias de la diáspora venezolana",
    "fr": "Justice pour le Venezuela : trois demandes de la diaspora vénézuélienne",
}

# Outgoing letters: key: (country, language, channel, office, contact, sent_on, delivered_on, acknowledged_on)
LETTERS = {
    "fra": ("FRA", "fr", "hand_delivery", "fra-madrid", "claire", dt.date(2018, 6, 21), dt.date(2018, 6, 21), None),
    "can": (
        "CAN",
        "en",
        "email",
        "can-gac",
        "morgan",
        dt.date(2018, 6, 20),
        dt.date(2018, 6, 21),
        dt.date(2018, 6, 22),
    ),
    "che": ("CHE", "fr", "web_form", "che-fdfa", None, dt.date(2018, 6, 22), None, None),
    "deu": ("DEU", "en", "email", "deu-madrid", "erika", dt.date(2018, 6, 20), dt.date(2018, 6, 20), None),
    "esp": ("ESP", "es", "email", "esp-maec", "lucia", dt.date(2018, 6, 20), dt.date(2018, 6, 20), None),
    "gbr": ("GBR", "en", "post", "gbr-fcdo", "john", dt.date(2018, 6, 21), None, None),
    "col": ("COL", "es", "hand_delivery", "col-madrid", "andres", dt.date(2018, 6, 20), dt.date(2018, 6, 20), None),
}

# Replies received: key: (letter answered, language, channel, received_on, subject, body)
REPLIES = {
    "fra-reply": (
        "fra",
        "fr",
        "post",
        dt.date(2018, 7, 16),
        "Re : Justice pour le Venezuela",
        "Réponse fictive de démonstration : accusé de réception de la lettre, transmise au ministère.",
    ),
    "col-reply": (
        "col",
        "es",
        "email",
        dt.date(2018, 7, 3),
        "Re: Justicia para Venezuela",
        "Respuesta ficticia de demostración: la embajada acusa recibo y remite la carta a Bogotá.",
    ),
}

LIMA_GROUP_URL = (
    "https://agenciabrasil.ebc.com.br/en/internacional/noticia/2018-05/"
    "brazil-and-13-other-countries-recall-venezuela-ambassadors"
)
LIMA_GROUP_EVIDENCE = (
    'Lima Group statement of 21 May 2018, signed by 14 governments including this one: they "do not '
    'recognise the legitimacy of the electoral process ... that ended on May 20", and agreed to reduce '
    "diplomatic relations, recall their ambassadors in Caracas for consultations and summon Venezuela's "
    "ambassadors to protest. Also reported by the Santiago Times (22 May 2018) and T13."
)
REFERRAL_URL = (
    "https://www.fidh.org/en/region/americas/venezuela/"
    "first-inter-state-referral-to-the-icc-on-venezuela-an-important-but"
)
REFERRAL_EVIDENCE = (
    "One of the six States Parties (Argentina, Canada, Chile, Colombia, Paraguay, Peru) that referred the "
    "situation in Venezuela since 12 February 2014 to the ICC under article 14 of the Rome Statute, by a "
    "letter dated New York, 26 September 2018 (received by the Office of the Prosecutor on 27 September): "
    "the first referral by a group of States Parties (FIDH; ICC OTP statement of 17 February 2020, "
    "https://www.icc-cpi.int/Pages/item.aspx?name=200217-otp-statement-venezuela)."
)
ELYSEE_URL = "https://www.elysee.fr/emmanuel-macron/2018/09/30/communique-relatif-a-la-situation-au-venezuela"
COSTA_RICA_URL = (
    "https://www.usexpatcostarica.com/government-didnt-formalize-support-to-lawsuit-against-maduro-before-the-icc/amp/"
)

LIMA_GROUP_SIGNATORIES = ("ARG", "CAN", "CHL", "COL", "CRI", "PER", "PRY")
REFERRING_STATES = ("ARG", "CAN", "CHL", "COL", "PRY", "PER")

# Real stances with their evidence: (country, demand, stance, stated_on, evidence, url). Oldest first per
# government, so the latest row is the current position.
POSITIONS = (
    *(
        (code, "repudiate-election", "acted", dt.date(2018, 5, 21), LIMA_GROUP_EVIDENCE, LIMA_GROUP_URL)
        for code in LIMA_GROUP_SIGNATORIES
    ),
    *(
        (code, "icc-referral", "acted", dt.date(2018, 9, 26), REFERRAL_EVIDENCE, REFERRAL_URL)
        for code in REFERRING_STATES
    ),
    (
        "FRA",
        "icc-referral",
        "supportive",
        dt.date(2018, 9, 29),
        "Élysée communiqué (issued Saturday 29 September 2018; its URL is dated 30 September) supporting the six "
        'States Parties\' step: it "relève que six Etats Parties ont le 26 septembre 2018 engagé une démarche". '
        "France did not formally join the referral; Venezuela's foreign ministry called it interference.",
        ELYSEE_URL,
    ),
    # Costa Rica's history: it declined at first, then announced support.
    (
        "CRI",
        "icc-referral",
        "non_committal",
        dt.date(2018, 9, 26),
        "Not among the six States Parties that referred the situation on 26 September 2018; the government "
        "first declined to join.",
        COSTA_RICA_URL,
    ),
    (
        "CRI",
        "icc-referral",
        "supportive",
        dt.date(2018, 10, 16),
        "President Carlos Alvarado's government announced support for the referral on 16 October 2018, after "
        "first declining; on 9 November 2018 the foreign ministry sent the ICC a verbal note with an unofficial "
        "translation of the communiqué. Formalisation disputed: critics, among them Amb. Javier Sancho, said it "
        "was not a formal adherence.",
        COSTA_RICA_URL,
    ),
    (
        "DEU",
        "icc-referral",
        "unknown",
        dt.date(2018, 9, 26),
        "Not among the referring States, and no statement of support for the referral was found in the sources "
        "checked for this demo.",
        None,
    ),
)

# Follow-ups: (country, owner, due, note, status, extra). An int due is days from the day the demo is
# loaded, so a new install has reminders to send at once; a date is fixed in 2018.
FOLLOW_UPS = (
    ("SWE", "coord_en", -3, "Find the Venezuela desk at the Swedish foreign ministry and send the letter.", "open", {}),
    ("GBR", "vol_en", -1, "Chase the meeting request sent to the Foreign Office.", "open", {"letter": "gbr"}),
    (
        "DEU",
        "vol_en",
        -6,
        "Call the embassy in Madrid to confirm the letter reached Berlin.",
        "open",
        {"letter": "deu"},
    ),
    (
        "CRI",
        "vol_a",
        -2,
        "Send the counsellor the meeting summary and the signature totals.",
        "open",
        {"meeting": "cri-delivery"},
    ),
    (
        "PRY",
        "vol_b",
        3,
        "Send the mission the short note on demand 2 it asked for.",
        "open",
        {"meeting": "pry-mission"},
    ),
    ("ESP", "vol_b", 7, "Confirm the date of the meeting at the ministry.", "open", {"letter": "esp"}),
    (
        "COL",
        "vol_b",
        14,
        "Ask about the solidarity mechanisms for Venezuelan migrants (demand 2).",
        "open",
        {"letter": "col-reply"},
    ),
    (
        "ARG",
        "vol_a",
        21,
        "Follow-up call with the missions of Argentina and Chile on demand 2.",
        "open",
        {"meeting": "arg-chl-joint"},
    ),
    (
        "FRA",
        "vol_en",
        dt.date(2018, 7, 6),
        "Ask the embassy whether the letter reached Paris.",
        "done",  # marked done when the demo is loaded
        {"letter": "fra"},
    ),
    # The embassy asked for time: snoozed, so it stays out of reminders until then.
    (
        "CHE",
        "vol_b",
        -4,
        "Resend the letter through the FDFA if the embassy has not answered.",
        "snoozed",
        {"letter": "che", "snoozed_until": 10},
    ),
)

OUTREACH_BY_COUNTRY = {row[0]: row for row in OUTREACH}
# The last day the demo's story tells of. Before it, the services refuse the story: a post, a meeting, a
# letter's steps, a reply or a position cannot be dated in the future.
STORY_ENDS_ON = max(
    *(since for *_rest, since in CONTACTS.values()),
    *(row["held_at"].date() for row in MEETINGS.values()),
    *(day for row in LETTERS.values() for day in row[5:] if day is not None),
    *(row[3] for row in REPLIES.values()),
    *(row[3] for row in POSITIONS),
)
NEEDED_COUNTRIES = sorted(
    {row[0] for row in OUTREACH} | {row[0] for row in OFFICES.values()} | {row[4] for row in OFFICES.values()}
)


class DemoUnavailable(RuntimeError):
    """The demo cannot be loaded here: reference data is missing, or its story has not happened yet."""


def load_demo() -> bool:
    """Add the demo campaign (flushed, not committed) through the services the pages, the commands and the
    API call, so that it obeys their rules and leaves the same audit trail. False if it is already there."""
    if Campaign.by_slug(DEMO_CAMPAIGN_SLUG) is not None:
        return False
    if clock.today() < STORY_ENDS_ON:
        raise DemoUnavailable(
            f"the demo tells of events up to {STORY_ENDS_ON.isoformat()}; "
            f"today is {clock.today().isoformat()}, before they happened"
        )
    countries = _countries()
    users = _users()
    campaign = _campaign()
    records = _outreach_records(campaign, countries, users)
    offices = _offices(countries)
    contacts = _contacts(offices)
    meetings = _meetings(records, offices, contacts, users)
    letters = _letters(records, offices, contacts, users)
    _positions(campaign, records, users)
    _follow_ups(records, users, meetings, letters, today=clock.today())
    _stages(records, users)
    db.session.flush()
    return True


def _countries() -> dict[str, Country]:
    countries = {code: country_by_code(code) for code in NEEDED_COUNTRIES}
    missing = [code for code, country in countries.items() if country is None]
    if missing:
        raise DemoUnavailable(
            f"the demo needs countries that are not loaded ({', '.join(missing)}): "
            "run `flask --app wsgi seed reference` first"
        )
    return countries


def _users() -> dict[str, User]:
    users = {}
    for key, (email, name, role, language, timezone) in USERS.items():
        # Someone may already have this address (an earlier demo, removed): reuse it rather than clash.
        users[key] = find_by_email(email) or create_user_without_sign_in(
            email, name, role, language=language, timezone=timezone, actor=DEMO_ACTOR
        )
    return users


def _campaign() -> Campaign:
    return create_campaign(
        **CAMPAIGN,
        actor=DEMO_ACTOR,
        is_demo=True,
        demands=[
            DemandWording(label=title, text=description, label_es=title_es, text_es=description_es, code=code)
            for code, title, description, title_es, description_es in DEMANDS
        ],
    )


def _outreach_records(campaign, countries, users) -> dict[str, OutreachRecord]:
    add_targets(campaign, actor=DEMO_ACTOR, countries=[countries[row[0]] for row in OUTREACH])
    added = {
        record.country_id: record
        for record in db.session.scalars(sa.select(OutreachRecord).where(OutreachRecord.campaign_id == campaign.id))
    }
    records = {}
    for code, _stage, priority, assignee, coordinator in OUTREACH:
        record = records[code] = added[countries[code].id]
        update_record(record, actor=DEMO_ACTOR, coordinator_id=users[coordinator].id, priority=priority)
        if assignee is not None:
            # The volunteers took their governments themselves ("Take a country"): nobody is e-mailed.
            claim(record, users[assignee])
    return records


def _offices(countries) -> dict[str, Office]:
    offices = {}
    for key, (code, kind, name, city, host, notes) in OFFICES.items():
        try:
            offices[key] = create_office(
                actor=DEMO_ACTOR,
                country=countries[code],
                host_country=countries[host],
                kind=kind,
                name=name,
                city=city,
                notes=notes,
            )
        except DuplicateOffice as duplicate:
            # Real institutions may already be on file: the demo uses the one there.
            offices[key] = duplicate.existing
    return offices


def _contacts(offices) -> dict[str, Contact]:
    contacts = {}
    for key, (office, name, title, email, language, since) in CONTACTS.items():
        posts = (*EARLIER_POSTS.get(key, ()), (office, title, since))
        first_office, first_title, first_since = posts[0]
        try:
            contact = create_contact(
                actor=DEMO_ACTOR,
                office=offices[first_office],
                name=name,
                title=first_title,
                email=email,
                language=language,
                notes=FICTIONAL_CONTACT_NOTE,
                started_on=first_since,
            )
        except DuplicateContact as duplicate:
            # A demo contact that `demo remove` kept (someone's own work refers to them): the same person.
            kept = [match for match in duplicate.matches if match.notes == FICTIONAL_CONTACT_NOTE]
            if not kept:
                raise
            contacts[key] = kept[0]
            continue
        for later_office, later_title, started_on in posts[1:]:
            move_contact(
                contact, actor=DEMO_ACTOR, office=offices[later_office], title=later_title, started_on=started_on
            )
        contacts[key] = contact
    return contacts


def _meetings(records, offices, contacts, users) -> dict[str, Meeting]:
    meetings = {}
    for key, row in MEETINGS.items():
        office = offices[row["office"]]
        meetings[key] = log_meeting(
            [records[code] for code in row["countries"]],
            actor=users[row["staff"][0]],
            held_at=row["held_at"],
            summary=row["summary"],
            outcome=row["outcome"],
            office=office,
            location=office.city,
            contacts=[contacts[name] for name in row["contacts"]],
            staff=[users[name] for name in row["staff"]],
        )
    return meetings


def _templates() -> None:
    """The demo's letter as a template in each language it is sent in, unless it is there already."""
    for language in sorted({row[1] for row in LETTERS.values()}):
        if find_template(DEMO_TEMPLATE, language) is None:
            save_template(
                None,
                name=DEMO_TEMPLATE,
                language=language,
                subject=SUBJECTS[language],
                body=LETTER_BODIES[language],
                actor=DEMO_ACTOR,
            )


def _letters(records, offices, contacts, users) -> dict[str, Letter]:
    _templates()
    letters = {}
    for key, (code, language, channel, office, contact, sent_on, delivered_on, acknowledged_on) in LETTERS.items():
        writer = users[_owner_of(code)]
        letter = compose_letter(
            records[code],
            template_name=DEMO_TEMPLATE,
            actor=writer,
            contact=contacts.get(contact),
            office=offices[office],
            language=language,
        )
        mark_sent(letter, channel, sent_on, writer)
        if delivered_on is not None:
            mark_delivered(letter, delivered_on, writer)
        if acknowledged_on is not None:
            mark_acknowledged(letter, acknowledged_on, writer)
        letters[key] = letter
    for key, (answered, language, channel, received_on, subject, body) in REPLIES.items():
        writer = users[_owner_of(LETTERS[answered][0])]
        letters[key] = log_reply(
            letters[answered], received_on, subject, body, writer, channel=channel, language=language
        )
    return letters


def _owner_of(code: str) -> str:
    """The user key who works a government's record: its assignee, else its coordinator."""
    _code, _stage, _priority, assignee, coordinator = OUTREACH_BY_COUNTRY[code]
    return assignee or coordinator


def _coordinator_of(code: str) -> str:
    return OUTREACH_BY_COUNTRY[code][4]


def _positions(campaign, records, users) -> None:
    demands = {
        demand.code: demand for demand in db.session.scalars(sa.select(Demand).where(Demand.campaign_id == campaign.id))
    }
    for code, demand, stance, stated_on, evidence, url in POSITIONS:
        record_position(
            records[code],
            demands[demand],
            stance,
            stated_on,
            actor=users[_coordinator_of(code)],
            evidence=evidence,
            evidence_url=url,
        )


def _follow_ups(records, users, meetings, letters, *, today: dt.date) -> None:
    def day(value):
        return today + dt.timedelta(days=value) if isinstance(value, int) else value

    for code, owner, due, note, status, extra in FOLLOW_UPS:
        follow_up = add_follow_up(
            records[code],
            owner=users[owner],
            due_on=day(due),
            note=note,
            actor=users[_coordinator_of(code)],
            meeting=meetings.get(extra.get("meeting")),
            letter=letters.get(extra.get("letter")),
        )
        if status == "done":
            complete_follow_up(follow_up, actor=users[owner])
        elif status == "snoozed":
            snooze_follow_up(follow_up, day(extra["snoozed_until"]), actor=users[owner])


def _stages(records, users) -> None:
    """The stage the story has each record at, set by its coordinator where the work logged left it
    elsewhere: a meeting asked for, a record closed, or a government that acted on one demand (which moves
    its record to "committed") while the campaign still works on the others."""
    for code, stage, _priority, _assignee, coordinator in OUTREACH:
        set_stage(records[code], stage, actor=users[coordinator])


# ---------------------------------------------------------------------------------------------------
# Removing the demo: the campaign and every fictional person and record it made, and nothing else.


@dataclass
class DemoRemoval:
    campaign_removed: bool = False
    meetings: int = 0
    contacts: int = 0
    offices: int = 0
    users: int = 0
    templates: int = 0
    # Demo people or offices that someone's own work now refers to: kept, and named.
    kept: list[str] = field(default_factory=list)


def _count(statement) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))


def remove_demo(*, actor) -> DemoRemoval:
    """Delete the demo campaign (its records, positions, letters, follow-ups, petitions go with it), the
    meetings held only for it, its letter templates as it wrote them, and the demo's fictional contacts, the
    offices it added and its staff users when nothing outside the demo refers to them. Reference data and
    anything a user created stay; so does the audit log, which is never rewritten. Flushed, not committed."""
    report = DemoRemoval()
    campaign = db.session.scalar(
        sa.select(Campaign).where(Campaign.slug == DEMO_CAMPAIGN_SLUG, Campaign.is_demo.is_(True))
    )
    if campaign is not None:
        demo_records = sa.select(OutreachRecord.id).where(OutreachRecord.campaign_id == campaign.id)
        other_records = sa.select(OutreachRecord.id).where(OutreachRecord.campaign_id != campaign.id)
        shared = sa.select(meeting_outreach.c.meeting_id).where(meeting_outreach.c.outreach_id.in_(other_records))
        meeting_ids = list(
            db.session.scalars(
                sa.select(meeting_outreach.c.meeting_id)
                .where(meeting_outreach.c.outreach_id.in_(demo_records), meeting_outreach.c.meeting_id.not_in(shared))
                .distinct()
            )
        )
        db.session.flush()
        if meeting_ids:
            db.session.execute(sa.delete(Meeting).where(Meeting.id.in_(meeting_ids)))
        # Positions first: they also point at the demands, which the campaign's deletion takes too.
        db.session.execute(sa.delete(Position).where(Position.campaign_id == campaign.id))
        # The database cascades the rest: records, letters, follow-ups, claims, petitions.
        db.session.execute(sa.delete(Campaign).where(Campaign.id == campaign.id))
        db.session.expire_all()
        report.campaign_removed, report.meetings = True, len(meeting_ids)

    fictional = {(name, email) for _office, name, _title, email, _language, _since in CONTACTS.values()}
    for contact in db.session.scalars(sa.select(Contact).where(Contact.notes == FICTIONAL_CONTACT_NOTE)).all():
        if (contact.name, contact.email) not in fictional:
            continue
        used = (
            _count(sa.select(meeting_contact.c.meeting_id).where(meeting_contact.c.contact_id == contact.id))
            + _count(sa.select(Letter.id).where(Letter.recipient_contact_id == contact.id))
            + _count(sa.select(Contact.id).where(Contact.merged_into_id == contact.id))
        )
        if used:
            report.kept.append(contact.name)
            continue
        # Through the database, whose cascades remove the contact's posts with it.
        db.session.execute(sa.delete(Contact).where(Contact.id == contact.id))
        report.contacts += 1
    db.session.expire_all()

    # Offices someone added themselves were audited as theirs when created; the demo's as DEMO_ACTOR's (or,
    # loaded by a version of the demo that did not go through the services, not at all).
    created_by_users = set(
        db.session.scalars(
            sa.select(AuditEvent.entity_id).where(
                AuditEvent.action == "office.create",
                AuditEvent.entity_type == "office",
                sa.or_(AuditEvent.actor_label.is_(None), AuditEvent.actor_label != DEMO_ACTOR),
            )
        )
    )
    for code, kind, _name, city, host, _notes in OFFICES.values():
        country, host_country = country_by_code(code), country_by_code(host)
        if country is None or host_country is None:
            continue
        office = db.session.scalar(
            sa.select(Office).filter_by(country_id=country.id, kind=kind, city=city, host_country_id=host_country.id)
        )
        if office is None or str(office.id) in created_by_users:
            continue
        used = (
            _count(sa.select(Contact.id).where(Contact.office_id == office.id))
            + _count(sa.select(Post.id).where(Post.office_id == office.id))
            + _count(sa.select(Meeting.id).where(Meeting.office_id == office.id))
            + _count(sa.select(Letter.id).where(Letter.recipient_office_id == office.id))
        )
        if used:
            continue
        db.session.execute(sa.delete(Office).where(Office.id == office.id))
        report.offices += 1
    db.session.expire_all()

    # A template someone has since rewritten is theirs now.
    for template in db.session.scalars(sa.select(LetterTemplate).where(LetterTemplate.name == DEMO_TEMPLATE)).all():
        if (template.subject, template.body) == (SUBJECTS.get(template.language), LETTER_BODIES.get(template.language)):
            db.session.delete(template)
            report.templates += 1
    db.session.flush()

    for email, name, *_rest in USERS.values():
        user = find_by_email(email)
        if user is None:
            continue
        used = (
            _count(
                sa.select(OutreachRecord.id).where(
                    sa.or_(OutreachRecord.assignee_id == user.id, OutreachRecord.coordinator_id == user.id)
                )
            )
            + _count(sa.select(FollowUp.id).where(FollowUp.owner_id == user.id))
            + _count(sa.select(meeting_staff.c.meeting_id).where(meeting_staff.c.user_id == user.id))
            + _count(sa.select(Campaign.id).where(Campaign.default_coordinator_id == user.id))
        )
        if used:
            report.kept.append(name)
            continue
        db.session.execute(sa.delete(User).where(User.id == user.id))
        report.users += 1
    db.session.expire_all()
    if report.campaign_removed or report.contacts or report.offices or report.users or report.templates:
        audit.record(
            "demo.remove",
            actor=actor,
            entity_type="campaign",
            entity_id=DEMO_CAMPAIGN_SLUG,
            after={
                "meetings": report.meetings,
                "contacts": report.contacts,
                "offices": report.offices,
                "users": report.users,
                "templates": report.templates,
                "kept": report.kept,
            },
        )
    return report
