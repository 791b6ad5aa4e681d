"""The totals page's tables joined in Python: each row says what the template said, escaped."""

import datetime as dt

from crm.signatures.totals import Month
from crm.signatures.totals_tables import country_rows, month_rows


def test_country_rows_name_each_country_and_state_a_range_in_the_readers_language(app):
    with app.test_request_context(headers={"Accept-Language": "es"}):
        body = country_rows(
            {"ESP": 1204, "T&T": 7, "XKX": 3},
            {"ESP": (1204, 1310)},
            {"ESP": "España", "T&T": "Trinidad <y> Tobago"},
            "es",
        )
    spain, trinidad, unnamed = body.split("</tr>")[:3]
    assert '<th scope="row">España</th><td><code>ESP</code></td>' in spain
    assert spain.endswith('<td class="num">entre 1.204 y 1.310</td>')
    assert "Trinidad &lt;y&gt; Tobago</th><td><code>T&amp;T</code></td>" in trinidad
    assert trinidad.endswith('<td class="num">7</td>')
    # A code without a name is shown as the code.
    assert '<th scope="row">XKX</th><td><code>XKX</code></td>' in unnamed


def test_month_rows_put_the_latest_month_first(app):
    months = [Month(dt.date(2018, 5, 1), 900, 900), Month(dt.date(2018, 6, 1), 1500, 2400)]
    with app.test_request_context():
        body = month_rows(months, "en")
    june, may = body.split("</tr>")[:2]
    assert '<td>June 2018</td><td class="num">1,500</td><td class="num">2,400</td>' in june
    assert '<td>May 2018</td><td class="num">900</td><td class="num">900</td>' in may
