"""The PDF renderer (the delivery dossier, a statement's signatories) builds a document from the HTML and
CSS it is given and fetches nothing: no URL, no local file, whatever the text contains."""

import pytest

from crm.core import pdf

weasyprint = pytest.importorskip("weasyprint")


def test_the_renderer_fetches_no_url_and_no_file(app, monkeypatch):
    asked = []
    real = pdf.refusing_fetcher

    def recording():
        fetcher = real()
        original = fetcher.fetch if hasattr(fetcher, "fetch") else fetcher

        def fetch(url, *args, **kwargs):
            asked.append(url)
            return original(url, *args, **kwargs)

        if hasattr(fetcher, "fetch"):
            fetcher.fetch = fetch
            return fetcher
        return fetch

    monkeypatch.setattr(pdf, "refusing_fetcher", recording)
    html = (
        '<p>x</p><img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/s.css">'
    )
    document = pdf.render_pdf(html, "@import url('file:///etc/hostname'); p { color: black }")
    assert document.startswith(b"%PDF-")
    assert {"file:///etc/passwd", "http://127.0.0.1:9/x.png"} <= set(asked)
    with pytest.raises(pdf.FetchRefused):
        (real().fetch if hasattr(real(), "fetch") else real())("file:///etc/passwd")
