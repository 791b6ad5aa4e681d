from tests.outreach.conftest import campaign, count_queries, make_contact, make_office, make_record  # noqa: F401
