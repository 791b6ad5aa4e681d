"""Every route x every role, with the answer each must get. A route added without a row here fails
`test_every_route_has_a_row`: decide who may use it before it ships.

Answers: OK (served, or a validation answer: never 404 and never the sign-in page), HIDDEN (404: the
record or page is not confirmed to exist), LOGIN (anonymous: sent to the sign-in page).
The volunteer in this matrix is NOT the assignee of the records it asks for: a volunteer asking for
another volunteer's record by URL must get 404. Their own records are tested in the feature tests."""

import datetime as dt
import io
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from crm.campaigns.models import Campaign, Demand
from crm.contacts.models import Contact, Office
from crm.countries.services import country_by_code
from crm.dashboard.maps import shapes_file
from crm.database import utcnow
from crm.extensions import db
from crm.letters import letter_templates
from crm.letters import services as letters
from crm.mail.models import OutboundMessage
from crm.outreach import assignments
from crm.outreach import services as outreach
from crm.outreach.models import OutreachRecord
from crm.signatures.imports import import_file
from crm.signatures.petitions import create_petition
from tests.conftest import sign_in, utc_today

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")

OK, HIDDEN, LOGIN = "ok", "hidden", "login"
ROLES = ("anonymous", "admin", "manager", "coordinator", "volunteer")


def answers(admin=OK, manager=OK, coordinator=OK, volunteer=OK, anonymous=LOGIN):
    return {
        "admin": admin,
        "manager": manager,
        "coordinator": coordinator,
        "volunteer": volunteer,
        "anonymous": anonymous,
    }


EVERYONE = answers()
PUBLIC = answers(anonymous=OK)
STAFF_WHO_SEE_ALL = answers(volunteer=HIDDEN)  # someone else's record: 404 for a volunteer
EDITORS = answers(volunteer=HIDDEN)  # edit_all: admin, manager, coordinator
ASSIGNERS = answers(volunteer=HIDDEN)  # assign: admin, manager, coordinator
ADMINS = answers(manager=HIDDEN, coordinator=HIDDEN, volunteer=HIDDEN)
MANAGERS = answers(coordinator=HIDDEN, volunteer=HIDDEN)  # dashboard and exports: admins and managers
MODERATORS = answers(volunteer=HIDDEN)  # joint statements' signatures: coordinators and above
VOLUNTEERS = answers(admin=HIDDEN, manager=HIDDEN, coordinator=HIDDEN)
CLAIMANT_ONLY = answers(admin=HIDDEN, manager=HIDDEN, coordinator=HIDDEN, volunteer=HIDDEN)
NOBODY = answers(admin=HIDDEN, manager=HIDDEN, coordinator=HIDDEN, volunteer=HIDDEN, anonymous=HIDDEN)

# (endpoint, method) -> (url built from the world, answers)
MATRIX = {
    ("accounts.login", "GET"): (lambda w: "/login", answers(anonymous=OK)),
    ("accounts.login", "POST"): (lambda w: "/login", answers(anonymous=OK)),
    ("accounts.logout", "POST"): (lambda w: "/logout", EVERYONE),
    # The second sign-in step without a pending sign-in: back to the password page (signed in: home).
    ("accounts.second_factor", "GET"): (lambda w: "/login/2fa", EVERYONE),
    ("accounts.second_factor", "POST"): (lambda w: "/login/2fa", EVERYONE),
    ("accounts.recovery_sign_in", "GET"): (lambda w: "/login/recovery", EVERYONE),
    ("accounts.recovery_sign_in", "POST"): (lambda w: "/login/recovery", EVERYONE),
    # Each user's own account: nobody reaches anyone else's.
    ("accounts.account", "GET"): (lambda w: "/account", EVERYONE),
    ("accounts.change_password", "POST"): (lambda w: "/account/password", EVERYONE),
    # Each user's own tokens: another user's token (none has this id) is not found, whoever asks.
    ("accounts.create_api_token", "POST"): (lambda w: "/account/tokens", EVERYONE),
    ("accounts.revoke_api_token", "POST"): (
        lambda w: "/account/tokens/987654/revoke",
        answers(admin=HIDDEN, manager=HIDDEN, coordinator=HIDDEN, volunteer=HIDDEN),
    ),
    ("accounts.set_language", "POST"): (lambda w: "/account/language", EVERYONE),
    ("accounts.reauthenticate", "GET"): (lambda w: "/account/confirm", EVERYONE),
    ("accounts.reauthenticate", "POST"): (lambda w: "/account/confirm", EVERYONE),
    ("accounts.two_factor_setup", "GET"): (lambda w: "/account/two-factor", EVERYONE),
    ("accounts.two_factor_setup", "POST"): (lambda w: "/account/two-factor", EVERYONE),
    ("accounts.disable_two_factor", "POST"): (lambda w: "/account/two-factor/disable", EVERYONE),
    ("accounts.regenerate_recovery_codes", "POST"): (lambda w: "/account/recovery-codes", EVERYONE),
    ("accounts.forgot_password", "GET"): (lambda w: "/password/forgot", PUBLIC),
    ("accounts.forgot_password", "POST"): (lambda w: "/password/forgot", PUBLIC),
    # A link that is not (or no longer) valid is not found, whoever follows it.
    ("accounts.reset_password", "GET"): (lambda w: "/password/reset/not-a-valid-link", NOBODY),
    ("accounts.reset_password", "POST"): (lambda w: "/password/reset/not-a-valid-link", NOBODY),
    ("core.home", "GET"): (lambda w: "/", EVERYONE),
    ("core.healthz", "GET"): (lambda w: "/healthz", PUBLIC),
    # Prometheus's figures: a bearer token, never a session, is the credential; without ALCANCE_METRICS_TOKEN
    # (as here) the route does not exist for anyone (tests/monitoring cover it with a token).
    ("monitoring.metrics", "GET"): (lambda w: "/metrics", NOBODY),
    ("core.set_language", "POST"): (lambda w: "/language", PUBLIC),
    ("countries.index", "GET"): (lambda w: "/countries/", EVERYONE),
    ("countries.show", "GET"): (lambda w: "/countries/FRA", EVERYONE),
    ("countries.correct", "POST"): (lambda w: "/countries/FRA/facts", ADMINS),
    # Offices and contacts of a government the volunteer does not work on. A volunteer with assigned
    # records may also add offices and contacts for those governments and edit what they added
    # (new_office, new, edit_office, edit): tests/contacts/test_volunteer_contacts.py.
    ("contacts.offices", "GET"): (lambda w: "/offices", EVERYONE),
    ("contacts.office", "GET"): (lambda w: f"/offices/{w['office'].id}", STAFF_WHO_SEE_ALL),
    ("contacts.new_office", "GET"): (lambda w: "/offices/new", EDITORS),
    ("contacts.new_office", "POST"): (lambda w: "/offices/new", EDITORS),
    ("contacts.edit_office", "GET"): (lambda w: f"/offices/{w['office'].id}/edit", EDITORS),
    ("contacts.edit_office", "POST"): (lambda w: f"/offices/{w['office'].id}/edit", EDITORS),
    ("contacts.deactivate_office_page", "GET"): (lambda w: f"/offices/{w['office'].id}/deactivate", EDITORS),
    ("contacts.deactivate_office_page", "POST"): (lambda w: f"/offices/{w['office'].id}/deactivate", EDITORS),
    ("contacts.reactivate_office_page", "POST"): (lambda w: f"/offices/{w['office'].id}/reactivate", EDITORS),
    ("contacts.index", "GET"): (lambda w: "/contacts", EVERYONE),
    ("contacts.show", "GET"): (lambda w: f"/contacts/{w['contact'].id}", STAFF_WHO_SEE_ALL),
    ("contacts.import_contacts", "GET"): (lambda w: "/contacts/import", EDITORS),
    ("contacts.import_contacts", "POST"): (lambda w: "/contacts/import", EDITORS),
    # What leaves the system: admins and managers, audited.
    ("contacts.export_contacts", "GET"): (lambda w: "/contacts/export.csv", MANAGERS),
    ("contacts.new", "GET"): (lambda w: "/contacts/new", EDITORS),
    ("contacts.new", "POST"): (lambda w: "/contacts/new", EDITORS),
    ("contacts.edit", "GET"): (lambda w: f"/contacts/{w['contact'].id}/edit", EDITORS),
    ("contacts.edit", "POST"): (lambda w: f"/contacts/{w['contact'].id}/edit", EDITORS),
    ("contacts.deactivate", "GET"): (lambda w: f"/contacts/{w['contact'].id}/deactivate", EDITORS),
    ("contacts.deactivate", "POST"): (lambda w: f"/contacts/{w['contact'].id}/deactivate", EDITORS),
    ("contacts.move", "GET"): (lambda w: f"/contacts/{w['contact'].id}/move", EDITORS),
    ("contacts.move", "POST"): (lambda w: f"/contacts/{w['contact'].id}/move", EDITORS),
    ("contacts.merge", "GET"): (lambda w: f"/contacts/{w['contact'].id}/merge", EDITORS),
    ("contacts.merge_confirm", "GET"): (lambda w: f"/contacts/{w['contact'].id}/merge/{w['contact2'].id}", EDITORS),
    ("contacts.merge_confirm", "POST"): (lambda w: f"/contacts/{w['contact'].id}/merge/{w['contact2'].id}", EDITORS),
    # Outreach records assigned to another volunteer.
    ("outreach.campaign", "GET"): (lambda w: "/campaigns/matrix", EVERYONE),
    ("outreach.show", "GET"): (lambda w: f"/outreach/{w['record'].id}", STAFF_WHO_SEE_ALL),
    ("outreach.edit", "GET"): (lambda w: f"/outreach/{w['record'].id}/edit", EDITORS),
    ("outreach.edit", "POST"): (lambda w: f"/outreach/{w['record'].id}/edit", EDITORS),
    ("outreach.set_stage", "POST"): (lambda w: f"/outreach/{w['record'].id}/stage", EDITORS),
    ("outreach.new_position", "GET"): (lambda w: f"/outreach/{w['record'].id}/positions/new", EDITORS),
    ("outreach.new_position", "POST"): (lambda w: f"/outreach/{w['record'].id}/positions/new", EDITORS),
    ("outreach.new_meeting", "GET"): (lambda w: f"/outreach/{w['record'].id}/meetings/new", EDITORS),
    ("outreach.new_meeting", "POST"): (lambda w: f"/outreach/{w['record'].id}/meetings/new", EDITORS),
    ("outreach.meeting", "GET"): (lambda w: f"/meetings/{w['meeting'].id}", STAFF_WHO_SEE_ALL),
    # Correcting or deleting a meeting needs edit rights on every record it sits on; an empty POST is
    # refused by validation (deleting needs the box ticked), so nothing changes here.
    ("outreach.edit_meeting", "GET"): (lambda w: f"/meetings/{w['meeting'].id}/edit", EDITORS),
    ("outreach.edit_meeting", "POST"): (lambda w: f"/meetings/{w['meeting'].id}/edit", EDITORS),
    ("outreach.delete_meeting", "GET"): (lambda w: f"/meetings/{w['meeting'].id}/delete", EDITORS),
    ("outreach.delete_meeting", "POST"): (lambda w: f"/meetings/{w['meeting'].id}/delete", EDITORS),
    ("outreach.new_follow_up", "GET"): (lambda w: f"/outreach/{w['record'].id}/follow-ups/new", EDITORS),
    ("outreach.new_follow_up", "POST"): (lambda w: f"/outreach/{w['record'].id}/follow-ups/new", EDITORS),
    ("outreach.complete_follow_up", "POST"): (lambda w: f"/follow-ups/{w['follow_up'].id}/complete", EDITORS),
    ("outreach.snooze_follow_up", "POST"): (lambda w: f"/follow-ups/{w['follow_up'].id}/snooze", EDITORS),
    ("outreach.follow_ups", "GET"): (lambda w: "/follow-ups", EVERYONE),
    ("outreach.my_work", "GET"): (lambda w: "/my-work", EVERYONE),
    ("outreach.board", "GET"): (lambda w: "/board", ASSIGNERS),
    ("outreach.bulk_assign", "POST"): (lambda w: "/board/assign", ASSIGNERS),
    ("outreach.decide_claim", "POST"): (lambda w: f"/claims/{w['claim'].id}/decide", ASSIGNERS),
    ("outreach.claims", "GET"): (lambda w: "/claims", VOLUNTEERS),
    ("outreach.claim", "POST"): (lambda w: f"/claims/new/{w['free_record'].id}", VOLUNTEERS),
    # Only the volunteer who asked may withdraw; this claim is another volunteer's.
    ("outreach.withdraw_claim", "POST"): (lambda w: f"/claims/{w['claim'].id}/withdraw", CLAIMANT_ONLY),
    # Letters on another volunteer's record.
    ("letters.index", "GET"): (lambda w: f"/outreach/{w['record'].id}/letters", STAFF_WHO_SEE_ALL),
    ("letters.compose", "GET"): (lambda w: f"/outreach/{w['record'].id}/letters/new", EDITORS),
    ("letters.compose", "POST"): (lambda w: f"/outreach/{w['record'].id}/letters/new", EDITORS),
    ("letters.show", "GET"): (lambda w: f"/letters/{w['letter'].id}", STAFF_WHO_SEE_ALL),
    ("letters.preview", "GET"): (lambda w: f"/letters/{w['letter'].id}/preview", STAFF_WHO_SEE_ALL),
    ("letters.print_letter", "GET"): (lambda w: f"/letters/{w['letter'].id}/print", STAFF_WHO_SEE_ALL),
    ("letters.edit", "GET"): (lambda w: f"/letters/{w['draft'].id}/edit", EDITORS),
    ("letters.edit", "POST"): (lambda w: f"/letters/{w['draft'].id}/edit", EDITORS),
    # Discarding needs the box ticked: the empty POST here is refused and the draft stays.
    ("letters.discard", "POST"): (lambda w: f"/letters/{w['draft'].id}/discard", EDITORS),
    ("letters.mark_sent", "POST"): (lambda w: f"/letters/{w['draft'].id}/sent", EDITORS),
    ("letters.mark_delivered", "POST"): (lambda w: f"/letters/{w['letter'].id}/delivered", EDITORS),
    ("letters.mark_acknowledged", "POST"): (lambda w: f"/letters/{w['letter'].id}/acknowledged", EDITORS),
    ("letters.reply", "GET"): (lambda w: f"/letters/{w['letter'].id}/reply", EDITORS),
    ("letters.reply", "POST"): (lambda w: f"/letters/{w['letter'].id}/reply", EDITORS),
    ("letters.upload_attachment", "POST"): (lambda w: f"/letters/{w['letter'].id}/attachments", EDITORS),
    ("letters.download_attachment", "GET"): (
        lambda w: f"/letters/{w['letter'].id}/attachments/{w['attachment'].id}",
        STAFF_WHO_SEE_ALL,
    ),
    ("letters.templates", "GET"): (lambda w: "/letter-templates", EVERYONE),
    ("letters.load_default_templates", "POST"): (lambda w: "/letter-templates/defaults", EDITORS),
    ("letters.edit_template", "GET"): (lambda w: f"/letter-templates/{w['template'].id}/edit", EDITORS),
    ("letters.edit_template", "POST"): (lambda w: f"/letter-templates/{w['template'].id}/edit", EDITORS),
    # Signatures of the campaign (staff only) and the platform webhook (its own secret, no session).
    ("signatures.index", "GET"): (lambda w: "/signatures", STAFF_WHO_SEE_ALL),
    ("signatures.campaign", "GET"): (lambda w: "/campaigns/matrix/signatures", STAFF_WHO_SEE_ALL),
    ("signatures.campaign_csv", "GET"): (
        lambda w: "/campaigns/matrix/signatures.csv",
        answers(coordinator=HIDDEN, volunteer=HIDDEN),
    ),
    ("signatures.create_petition", "POST"): (lambda w: "/campaigns/matrix/petitions", EDITORS),
    ("signatures.petition", "GET"): (lambda w: f"/petitions/{w['petition'].slug}", STAFF_WHO_SEE_ALL),
    ("signatures.upload", "POST"): (lambda w: f"/petitions/{w['petition'].slug}/uploads", EDITORS),
    ("signatures.preview", "GET"): (lambda w: f"/petitions/{w['petition'].slug}/uploads/{'a' * 24}", EDITORS),
    ("signatures.preview", "POST"): (lambda w: f"/petitions/{w['petition'].slug}/uploads/{'a' * 24}", EDITORS),
    ("signatures.discard", "POST"): (lambda w: f"/petitions/{w['petition'].slug}/uploads/{'a' * 24}/discard", EDITORS),
    ("signatures.import_report", "GET"): (lambda w: f"/imports/{w['signature_import'].id}", STAFF_WHO_SEE_ALL),
    ("signatures.undo_import", "GET"): (lambda w: f"/imports/{w['signature_import'].id}/undo", EDITORS),
    ("signatures.undo_import", "POST"): (lambda w: f"/imports/{w['signature_import'].id}/undo", EDITORS),
    ("signatures.add_tally", "POST"): (lambda w: f"/petitions/{w['petition'].slug}/tallies", EDITORS),
    ("signatures.import_tally_file", "POST"): (lambda w: f"/petitions/{w['petition'].slug}/tallies/file", EDITORS),
    ("signatures.rotate_secret", "POST"): (lambda w: f"/petitions/{w['petition'].slug}/webhook-secret", EDITORS),
    ("signatures.dossier_pdf", "GET"): (lambda w: f"/outreach/{w['record'].id}/dossier.pdf", STAFF_WHO_SEE_ALL),
    # A push without the petition's secret is refused with 401 whoever sends it; the secret, not a
    # session, is the credential (tests/signatures cover pushes with it).
    ("api.push_signatures", "POST"): (lambda w: f"/api/petitions/{w['petition'].slug}/signatures", PUBLIC),
    # Reminders: each user's own preferences and calendar link; the feed's secret token is its credential.
    ("reminders.preferences", "GET"): (lambda w: "/reminders/preferences", EVERYONE),
    ("reminders.preferences", "POST"): (lambda w: "/reminders/preferences", EVERYONE),
    ("reminders.new_calendar_link", "POST"): (lambda w: "/reminders/calendar", EVERYONE),
    ("reminders.revoke_calendar_link", "POST"): (lambda w: "/reminders/calendar/revoke", EVERYONE),
    ("reminders.calendar_feed", "GET"): (lambda w: "/calendar/not-a-token.ics", NOBODY),
    ("reminders.meeting_ics", "GET"): (lambda w: f"/meetings/{w['meeting'].id}.ics", STAFF_WHO_SEE_ALL),
    ("reminders.outbox", "GET"): (lambda w: "/reminders/outbox", ADMINS),
    ("reminders.outbox_message", "GET"): (lambda w: f"/reminders/outbox/{w['message'].id}", ADMINS),
    ("reminders.outbox_html", "GET"): (lambda w: f"/reminders/outbox/{w['message'].id}/html", ADMINS),
    ("reminders.retry_message", "POST"): (lambda w: f"/reminders/outbox/{w['message'].id}/retry", ADMINS),
    # The managers' dashboard (admins and managers; coordinators and volunteers get 404) and its exports.
    ("dashboard.index", "GET"): (lambda w: "/dashboard/", MANAGERS),
    ("dashboard.campaign", "GET"): (lambda w: "/dashboard/matrix", MANAGERS),
    ("dashboard.positions", "GET"): (lambda w: "/dashboard/matrix/positions", MANAGERS),
    ("dashboard.changes", "GET"): (lambda w: "/dashboard/matrix/changes", MANAGERS),
    ("dashboard.map_svg", "GET"): (lambda w: "/dashboard/matrix/map.svg", MANAGERS),
    ("dashboard.matrix_csv", "GET"): (lambda w: "/dashboard/matrix/matrix.csv", MANAGERS),
    ("dashboard.outreach_csv", "GET"): (lambda w: "/dashboard/matrix/outreach.csv", MANAGERS),
    # The countries' outlines the maps draw from: the same for everyone, nothing of a campaign's.
    ("dashboard.shapes", "GET"): (lambda w: f"/dashboard/shapes-{shapes_file()[1]}.svg", PUBLIC),
    # Administration.
    ("admin.users", "GET"): (lambda w: "/admin/users", ADMINS),
    ("admin.new_user", "GET"): (lambda w: "/admin/users/new", ADMINS),
    ("admin.new_user", "POST"): (lambda w: "/admin/users/new", ADMINS),
    ("admin.edit_user", "GET"): (lambda w: f"/admin/users/{w['owner'].id}", ADMINS),
    ("admin.edit_user", "POST"): (lambda w: f"/admin/users/{w['owner'].id}", ADMINS),
    ("admin.set_user_active", "POST"): (lambda w: f"/admin/users/{w['owner'].id}/active", ADMINS),
    # Invitations: admins invite, resend (rate-limited) and revoke; the link is the invitee's credential.
    ("admin.invite", "GET"): (lambda w: "/admin/users/invite", ADMINS),
    ("admin.invite", "POST"): (lambda w: "/admin/users/invite", ADMINS),
    ("admin.resend_invitation", "POST"): (lambda w: f"/admin/invitations/{w['invitation'].id}/resend", ADMINS),
    ("admin.revoke_invitation", "POST"): (lambda w: f"/admin/invitations/{w['invitation'].id}/revoke", ADMINS),
    ("accounts.accept_invitation", "GET"): (lambda w: "/invitation/not-a-valid-link", NOBODY),
    ("accounts.accept_invitation", "POST"): (lambda w: "/invitation/not-a-valid-link", NOBODY),
    ("admin.privacy", "GET"): (lambda w: "/admin/privacy", ADMINS),
    ("webhooks.index", "GET"): (lambda w: "/admin/webhooks/", ADMINS),
    ("webhooks.index", "POST"): (lambda w: "/admin/webhooks/", ADMINS),
    ("webhooks.show", "GET"): (lambda w: f"/admin/webhooks/{w['webhook'].id}", ADMINS),
    ("webhooks.set_active", "POST"): (lambda w: f"/admin/webhooks/{w['webhook'].id}/active", ADMINS),
    ("webhooks.send_test", "POST"): (lambda w: f"/admin/webhooks/{w['webhook'].id}/test", ADMINS),
    ("webhooks.delete", "POST"): (lambda w: f"/admin/webhooks/{w['webhook'].id}/delete", ADMINS),
    ("admin.privacy", "POST"): (lambda w: "/admin/privacy", ADMINS),
    ("admin.audit_log", "GET"): (lambda w: "/admin/audit", answers(coordinator=HIDDEN, volunteer=HIDDEN)),
    # Setting campaigns up: admins and managers describe them, write demands and change settings;
    # coordinators too choose the target governments. Empty POSTs are refused by validation.
    ("campaigns.index", "GET"): (lambda w: "/campaigns/manage", ASSIGNERS),
    ("campaigns.new", "GET"): (lambda w: "/campaigns/new", MANAGERS),
    ("campaigns.new", "POST"): (lambda w: "/campaigns/new", MANAGERS),
    ("campaigns.edit", "GET"): (lambda w: "/campaigns/matrix/edit", MANAGERS),
    ("campaigns.edit", "POST"): (lambda w: "/campaigns/matrix/edit", MANAGERS),
    ("campaigns.archive", "POST"): (lambda w: "/campaigns/matrix/archive", MANAGERS),
    # The public board: the same answer for everyone, signed in or not (published in `world`).
    ("board.public", "GET"): (lambda w: "/p/matrix", PUBLIC),
    ("board.public_json", "GET"): (lambda w: "/p/matrix.json", PUBLIC),
    ("board.public_csv", "GET"): (lambda w: "/p/matrix.csv", PUBLIC),
    ("board.manage", "GET"): (lambda w: "/campaigns/matrix/board", MANAGERS),
    ("board.manage", "POST"): (lambda w: "/campaigns/matrix/board", MANAGERS),
    ("campaigns.settings", "GET"): (lambda w: "/campaigns/matrix/settings", MANAGERS),
    ("campaigns.settings", "POST"): (lambda w: "/campaigns/matrix/settings", MANAGERS),
    ("campaigns.demands", "GET"): (lambda w: "/campaigns/matrix/demands", MANAGERS),
    ("campaigns.demands", "POST"): (lambda w: "/campaigns/matrix/demands", MANAGERS),
    ("campaigns.edit_demand", "GET"): (lambda w: f"/demands/{w['demand'].id}/edit", MANAGERS),
    ("campaigns.edit_demand", "POST"): (lambda w: f"/demands/{w['demand'].id}/edit", MANAGERS),
    ("campaigns.move_demand", "POST"): (lambda w: f"/demands/{w['demand'].id}/move", MANAGERS),
    ("campaigns.retire_demand", "POST"): (lambda w: f"/demands/{w['demand'].id}/retire", MANAGERS),
    ("campaigns.targets_page", "GET"): (lambda w: "/campaigns/matrix/targets", ASSIGNERS),
    ("campaigns.targets_page", "POST"): (lambda w: "/campaigns/matrix/targets", ASSIGNERS),
    ("campaigns.remove_target", "POST"): (lambda w: f"/outreach/{w['free_record'].id}/remove-target", ASSIGNERS),
    # Joint statements. The public page answers everyone the same, signed in or not (an empty form is refused
    # with 400 by the public form's checks); the e-mail's links are their own credential, so an invalid one is
    # not found whoever follows it. Coordinators and above moderate and export; admins and managers write.
    ("statements.public", "GET"): (lambda w: f"/s/{w['statement'].slug}", PUBLIC),
    ("statements.public", "POST"): (lambda w: f"/s/{w['statement'].slug}", PUBLIC),
    ("statements.confirm", "GET"): (lambda w: "/s/confirm/not-a-valid-link", NOBODY),
    ("statements.confirm", "POST"): (lambda w: "/s/confirm/not-a-valid-link", NOBODY),
    ("statements.withdraw", "GET"): (lambda w: "/s/withdraw/not-a-valid-link", NOBODY),
    ("statements.withdraw", "POST"): (lambda w: "/s/withdraw/not-a-valid-link", NOBODY),
    ("statements.index", "GET"): (lambda w: "/campaigns/matrix/statements", MODERATORS),
    ("statements.new", "GET"): (lambda w: "/campaigns/matrix/statements/new", MANAGERS),
    ("statements.new", "POST"): (lambda w: "/campaigns/matrix/statements/new", MANAGERS),
    ("statements.show", "GET"): (lambda w: f"/statements/{w['statement'].id}", MODERATORS),
    ("statements.edit", "GET"): (lambda w: f"/statements/{w['statement'].id}/edit", MANAGERS),
    ("statements.edit", "POST"): (lambda w: f"/statements/{w['statement'].id}/edit", MANAGERS),
    ("statements.new_version", "POST"): (lambda w: f"/statements/{w['statement'].id}/new-version", MANAGERS),
    ("statements.export_csv", "GET"): (lambda w: f"/statements/{w['statement'].id}/signatories.csv", MODERATORS),
    # The PDF for delivery, for the letter the statement goes with (without ?letter=: the same rule).
    ("statements.export_pdf", "GET"): (
        lambda w: f"/statements/{w['statement'].id}/signatories.pdf?letter={w['letter'].id}",
        MODERATORS,
    ),
    ("statements.approve", "POST"): (
        lambda w: f"/statements/signatures/{w['statement_signature'].id}/approve",
        MODERATORS,
    ),
    # An empty reason is refused: nothing is rejected here.
    ("statements.reject", "POST"): (
        lambda w: f"/statements/signatures/{w['statement_signature'].id}/reject",
        MODERATORS,
    ),
    # A statement going with a letter: changed by those who edit the letter's record (another volunteer's here).
    ("statements.attach_to_letter", "POST"): (lambda w: f"/letters/{w['draft'].id}/statements", EDITORS),
    ("statements.detach_from_letter", "POST"): (
        lambda w: f"/letters/{w['letter'].id}/statements/{w['statement'].id}/detach",
        EDITORS,
    ),
    ("statements.merge", "GET"): (lambda w: f"/statements/signatures/{w['statement_signature'].id}/merge", MODERATORS),
    ("statements.merge", "POST"): (lambda w: f"/statements/signatures/{w['statement_signature'].id}/merge", MODERATORS),
    # Hosted petitions: the signing page answers everyone alike, the e-mail's links are their own credential
    # (an invalid one is not found whoever follows it); the petition's page for coordinators is seen by those
    # who see all signatures and changed, like held sign-ups, by those who edit them.
    ("hosted.sign", "GET"): (lambda w: f"/sign/{w['hosted_petition'].slug}", PUBLIC),
    ("hosted.sign", "POST"): (lambda w: f"/sign/{w['hosted_petition'].slug}", PUBLIC),
    ("hosted.confirm", "GET"): (lambda w: "/sign/confirm/not-a-valid-link", NOBODY),
    ("hosted.confirm", "POST"): (lambda w: "/sign/confirm/not-a-valid-link", NOBODY),
    ("hosted.withdraw", "GET"): (lambda w: "/sign/withdraw/not-a-valid-link", NOBODY),
    ("hosted.withdraw", "POST"): (lambda w: "/sign/withdraw/not-a-valid-link", NOBODY),
    ("hosted.manage", "GET"): (lambda w: f"/petitions/{w['hosted_petition'].slug}/hosted", STAFF_WHO_SEE_ALL),
    ("hosted.manage", "POST"): (lambda w: f"/petitions/{w['hosted_petition'].slug}/hosted", EDITORS),
    ("hosted.export_contacts", "GET"): (
        lambda w: f"/petitions/{w['hosted_petition'].slug}/hosted-contacts.csv",
        MANAGERS,
    ),
    ("hosted.release", "POST"): (lambda w: f"/hosted-signatures/{w['held_signature'].id}/release", EDITORS),
    ("hosted.reject", "POST"): (lambda w: f"/hosted-signatures/{w['held_signature'].id}/reject", EDITORS),
}
# The API half: every route under /api/v1/, asked with a read-and-write token of each role; "anonymous"
# sends no token and gets 401 (UNAUTHENTICATED). Each answer is the one the page of the same record gives
# that role: a volunteer's token reaches only their own records (the world's records are another's).
UNAUTHENTICATED = "unauthenticated"
API_EVERYONE = answers(anonymous=UNAUTHENTICATED)
API_OPEN = answers(anonymous=OK)
API_STAFF_WHO_SEE_ALL = answers(volunteer=HIDDEN, anonymous=UNAUTHENTICATED)
API_EDITORS = answers(volunteer=HIDDEN, anonymous=UNAUTHENTICATED)
API_MATRIX = {
    ("api-docs.openapi_json", "GET"): (lambda w: "/api/v1/openapi.json", API_OPEN),
    ("api_docs_page.reference", "GET"): (lambda w: "/api/v1/docs", API_OPEN),
    ("api_campaigns.list_campaigns", "GET"): (lambda w: "/api/v1/campaigns/", API_EVERYONE),
    ("api_campaigns.get_campaign", "GET"): (lambda w: "/api/v1/campaigns/matrix", API_EVERYONE),
    ("api_countries.list_countries", "GET"): (lambda w: "/api/v1/countries/", API_EVERYONE),
    ("api_countries.get_country", "GET"): (lambda w: "/api/v1/countries/FRA", API_EVERYONE),
    # A volunteer's list holds their own records only (tests/api): never a 404.
    ("api_outreach.list_outreach", "GET"): (lambda w: "/api/v1/outreach/", API_EVERYONE),
    ("api_outreach.get_outreach", "GET"): (lambda w: f"/api/v1/outreach/{w['record'].id}", API_STAFF_WHO_SEE_ALL),
    ("api_outreach.OutreachPositions", "GET"): (
        lambda w: f"/api/v1/outreach/{w['record'].id}/positions",
        API_STAFF_WHO_SEE_ALL,
    ),
    ("api_follow_ups.list_follow_ups", "GET"): (lambda w: "/api/v1/follow-ups/", API_EVERYONE),
    ("api_follow_ups.FollowUpItem", "GET"): (
        lambda w: f"/api/v1/follow-ups/{w['follow_up'].id}",
        API_STAFF_WHO_SEE_ALL,
    ),
    ("api_meetings.list_meetings", "GET"): (lambda w: "/api/v1/meetings/", API_EVERYONE),
    ("api_meetings.get_meeting", "GET"): (lambda w: f"/api/v1/meetings/{w['meeting'].id}", API_STAFF_WHO_SEE_ALL),
    ("api_letters.list_letters", "GET"): (lambda w: "/api/v1/letters/", API_EVERYONE),
    ("api_letters.LetterItem", "GET"): (lambda w: f"/api/v1/letters/{w['letter'].id}", API_STAFF_WHO_SEE_ALL),
    ("api_offices.list_offices", "GET"): (lambda w: "/api/v1/offices/", API_EVERYONE),
    ("api_offices.get_office", "GET"): (lambda w: f"/api/v1/offices/{w['office'].id}", API_STAFF_WHO_SEE_ALL),
    ("api_contacts.list_contacts", "GET"): (lambda w: "/api/v1/contacts/", API_EVERYONE),
    ("api_contacts.ContactItem", "GET"): (lambda w: f"/api/v1/contacts/{w['contact'].id}", API_STAFF_WHO_SEE_ALL),
    # Writes: made by those whose pages allow them (201 here, or 428 without If-Match); 404 for the others.
    ("api_outreach.OutreachPositions", "POST"): (
        lambda w: f"/api/v1/outreach/{w['record'].id}/positions",
        API_EDITORS,
    ),
    ("api_outreach.create_follow_up", "POST"): (lambda w: f"/api/v1/outreach/{w['record'].id}/follow-ups", API_EDITORS),
    ("api_meetings.log_meeting", "POST"): (lambda w: "/api/v1/meetings/", API_EDITORS),
    ("api_contacts.create_contact", "POST"): (lambda w: "/api/v1/contacts/", API_EDITORS),
    ("api_contacts.ContactItem", "PATCH"): (lambda w: f"/api/v1/contacts/{w['contact'].id}", API_EDITORS),
    ("api_letters.LetterItem", "PATCH"): (lambda w: f"/api/v1/letters/{w['letter'].id}", API_EDITORS),
    # The petition webhook: its own secret authenticates, a personal token does not (401 for everyone here).
    ("api_petitions.push_signatures_v1", "POST"): (
        lambda w: f"/api/v1/petitions/{w['petition'].slug}/signatures",
        answers(**dict.fromkeys(ROLES, UNAUTHENTICATED)),
    ),
    # A statement's page: those who moderate statements (coordinators and above).
    ("api_statements.list_signatories", "GET"): (
        lambda w: f"/api/v1/statements/{w['statement'].id}/signatories",
        API_STAFF_WHO_SEE_ALL,
    ),
    # The signature pages' rule: staff who see all.
    ("api_campaigns.list_petitions", "GET"): (lambda w: "/api/v1/campaigns/matrix/petitions", API_STAFF_WHO_SEE_ALL),
    ("api_campaigns.signatures_by_country", "GET"): (
        lambda w: "/api/v1/campaigns/matrix/signatures/by-country",
        API_STAFF_WHO_SEE_ALL,
    ),
    ("api_campaigns.signatures_by_day", "GET"): (
        lambda w: "/api/v1/campaigns/matrix/signatures/by-day",
        API_STAFF_WHO_SEE_ALL,
    ),
    # Without If-Match: 428 for those who may close it (nothing is changed), 404 for the others.
    ("api_follow_ups.FollowUpItem", "PATCH"): (lambda w: f"/api/v1/follow-ups/{w['follow_up'].id}", API_EDITORS),
}
# A valid body for each API write, so that the answer is about who asks, not about what was sent.
API_BODIES = {
    ("api_outreach.OutreachPositions", "POST"): lambda w: {
        "demand_code": w["demand"].code,
        "stance": "supportive",
        "stated_on": utc_today().isoformat(),
    },
    ("api_outreach.create_follow_up", "POST"): lambda w: {"due_on": utc_today().isoformat(), "note": "Call"},
    ("api_meetings.log_meeting", "POST"): lambda w: {
        "outreach_ids": [w["record"].id],
        "held_at": (utcnow() - dt.timedelta(hours=2)).isoformat(),
        "summary": "Met",
    },
    ("api_contacts.create_contact", "POST"): lambda w: {"office_id": w["office"].id, "name": "Nueva Persona"},
    ("api_contacts.ContactItem", "PATCH"): lambda w: {"title": "Consul"},
    ("api_letters.LetterItem", "PATCH"): lambda w: {"delivered_on": utc_today().isoformat()},
    ("api_follow_ups.FollowUpItem", "PATCH"): lambda w: {"status": "done"},
}
# Rules that share an endpoint with a row above (same answers, other URL).
EXTRA_RULES = {"/letter-templates/new": ("letters.edit_template", EDITORS)}
# The vCard export is the same rule as the CSV one (one route, two extensions).

PDF = (Path(__file__).parent / "letters" / "fixtures" / "reply.pdf").read_bytes()


@pytest.fixture
def world(app, make_user):
    """One of everything, belonging to a volunteer who is not the one asking."""
    return build_world(make_user)


def build_world(make_user) -> dict:
    """The records the matrix's URLs name (tests/test_queries_per_page.py asks for the same pages)."""
    owner = make_user("volunteer", name="Owner Volunteer")
    france, germany, spain = country_by_code("FRA"), country_by_code("DEU"), country_by_code("ESP")
    campaign = Campaign(slug="matrix", name="Matrix campaign")
    demand = Demand(campaign=campaign, ordinal=1, code="d1", title="Demand one")
    db.session.add_all([campaign, demand])
    record = OutreachRecord(campaign=campaign, country_id=france.id, assignee_id=owner.id)
    free_record = OutreachRecord(campaign=campaign, country_id=germany.id)
    office = Office(
        country_id=france.id, host_country_id=spain.id, kind="embassy", city="Madrid", name="Ambassade de France"
    )
    contact, contact2 = Contact(office=office, name="Claire Fictive"), Contact(office=office, name="Claire F.")
    db.session.add_all([record, free_record, office, contact, contact2])
    db.session.flush()
    meeting = outreach.log_meeting([record], actor=owner, held_at=utcnow() - dt.timedelta(days=1), summary="Met")
    follow_up = outreach.add_follow_up(record, owner=owner, due_on=utc_today(), note="Call", actor=owner)
    template = letter_templates.save_template(
        None,
        name="first",
        language="en",
        subject="Demands of {campaign_name}",
        body="Dear {recipient_name}",
        actor=owner,
    )
    letter = letters.compose_letter(record, template_name="first", actor=owner, contact=contact)
    letters.mark_sent(letter, "email", utc_today(), owner)
    draft = letters.compose_letter(record, template_name="first", actor=owner, contact=contact)
    attachment = letters.add_attachments(letter, [FileStorage(io.BytesIO(PDF), filename="reply.pdf")], owner)[0]
    campaign.claims_need_approval = True
    claim = assignments.claim(free_record, owner)
    message = OutboundMessage(
        kind="due_reminder",
        dedupe_key="matrix",
        recipient_id=owner.id,
        recipient_email=owner.email,
        language="en",
        subject="Reminder",
        body_text="Text",
        body_html="<p>Text</p>",
        message_id="<matrix@example.org>",
    )
    db.session.add(message)
    petition = create_petition(campaign, "Matrix petition", actor=owner)
    outcome = import_file(petition, io.BytesIO(b"email,country\na@example.org,ES\n"), filename="s.csv", actor=owner)
    from crm.accounts import invitations

    invitation = invitations.invite("invitee@example.org", "volunteer", actor=owner, now=utcnow())
    from crm.board import services as boards

    boards.publish(campaign, actor=owner)
    statement, statement_signature = build_statement(campaign)
    from crm.statements import services as statements

    statements.attach(letter, statement, actor=owner, now=utcnow())
    hosted_petition, held_signature = build_hosted(campaign)
    from crm.webhooks.models import WebhookSubscription

    webhook = WebhookSubscription(url="https://hooks.example.org/in", events="meeting.logged", secret="whsec_matrix")
    db.session.add(webhook)
    db.session.commit()
    return {
        "hosted_petition": hosted_petition,
        "held_signature": held_signature,
        "webhook": webhook,
        "statement": statement,
        "statement_signature": statement_signature,
        "invitation": invitation,
        "owner": owner,
        "message": message,
        "record": record,
        "petition": petition,
        "signature_import": outcome.record,
        "free_record": free_record,
        "office": office,
        "contact": contact,
        "contact2": contact2,
        "meeting": meeting,
        "follow_up": follow_up,
        "letter": letter,
        "draft": draft,
        "attachment": attachment,
        "template": template,
        "claim": claim,
        "demand": demand,
    }


def build_statement(campaign, signers: int = 2):
    """A statement with an approved signature and one waiting for a moderator (the one the matrix asks for)."""
    from crm.statements import services as statements

    statement = statements.create_statement(
        campaign, {"en": statements.Wording("Matrix statement", "We stand together.")}, actor="test"
    )
    now = utcnow()
    signed = []
    for n in range(signers):
        details = statements.SignUp(
            kind="organisation",
            country=country_by_code("VEN"),
            organisation=f"Matrix organisation {n}",
            website=f"https://org{n}.example.org",
            signer_name=f"Matrix signer {n}",
            email=f"signer{n}@org{n}.example.org",
            consent=True,
        )
        signature = statements.sign(statement, details, language="en", now=now).signature
        statements.confirm(signature, now=now)
        signed.append(signature)
    for signature in signed[1:]:
        statements.approve(signature, actor="test", now=now)
    return statement, signed[0]


def build_hosted(campaign):
    """A hosted petition with a sign-up held for review (one of a burst), its address confirmed."""
    from crm.signatures import hosted

    petition = create_petition(campaign, "Matrix hosted petition", platform="hosted")
    details = hosted.SignUp(
        name="Matrix signer", email="held@example.org", country=country_by_code("VEN"), consent=True
    )
    signed = hosted.sign(petition, details, language="en", now=utcnow(), for_review=True)
    hosted.confirm(signed.signature, now=utcnow())
    return petition, signed.signature


def _rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def test_every_route_has_a_row(app):
    missing = []
    for rule in _rules(app):
        if rule.rule in EXTRA_RULES:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) not in MATRIX and (rule.endpoint, method) not in API_MATRIX:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert missing == [], "routes without a row in the permission matrix:\n" + "\n".join(missing)


def _problem(client, method, url, expected) -> str | None:
    """What is wrong with the answer to one request, or None when it is the expected one."""
    response = client.open(url, method=method, data={} if method == "POST" else None)
    location = response.headers.get("Location", "")
    if response.status_code >= 500:
        right = False
    elif expected == HIDDEN:
        right = response.status_code == 404
    elif expected == LOGIN:
        right = response.status_code == 302 and "/login" in location
    else:
        right = response.status_code != 404 and "/login?" not in location
    return None if right else f"{method} {url} -> {response.status_code} {location} (expected {expected})"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_answer_on_every_route(app, client, world, make_user, role):
    if role != "anonymous":
        user = make_user(role)
        db.session.commit()
        sign_in(client, user)
    rows = [(endpoint, method, build, expected) for (endpoint, method), (build, expected) in MATRIX.items()]
    rows += [
        (endpoint, "GET", lambda w, rule=rule: rule, expected) for rule, (endpoint, expected) in EXTRA_RULES.items()
    ]
    # Sign-out last, so that every other row is asked by a signed-in user.
    rows.sort(key=lambda row: row[0] == "accounts.logout")
    # Every route is asked, and every wrong answer reported: the first failure does not hide the rest.
    problems = [
        problem
        for endpoint, method, build, expected in rows
        if (problem := _problem(client, method, build(world), expected[role]))
    ]
    assert problems == [], f"{len(problems)} of {len(rows)} routes answer {role} wrongly:\n" + "\n".join(problems)


def _api_problem(client, method, url, secret, expected, body) -> str | None:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    response = client.open(url, method=method, headers=headers, json=body)
    if response.status_code >= 500:
        right = False
    elif expected == HIDDEN:
        right = response.status_code == 404
    elif expected == UNAUTHENTICATED:
        right = response.status_code == 401
    else:
        right = response.status_code not in (401, 403, 404)
    return None if right else f"{method} {url} -> {response.status_code} (expected {expected})"


def test_every_api_route_is_in_the_api_half(app):
    api_rules = {
        (rule.endpoint, method)
        for rule in _rules(app)
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert api_rules == set(API_MATRIX)


@pytest.mark.parametrize("role", ROLES)
def test_each_roles_token_gets_the_expected_answer_on_every_api_route(app, client, world, make_user, role):
    from crm.api import tokens

    secret = None
    if role != "anonymous":
        _token, secret = tokens.create(make_user(role), name="matrix", scope="write", days=30, now=utcnow())
        db.session.commit()
    problems = [
        problem
        for (endpoint, method), (build, expected) in API_MATRIX.items()
        if (
            problem := _api_problem(
                client,
                method,
                build(world),
                secret,
                expected[role],
                API_BODIES.get((endpoint, method), lambda w: None)(world),
            )
        )
    ]
    assert problems == [], f"{len(problems)} of {len(API_MATRIX)} API routes answer {role} wrongly:\n" + "\n".join(
        problems
    )
