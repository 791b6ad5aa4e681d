"""Print-ready PDFs (the delivery dossier, a statement's signatories) rendered by WeasyPrint from HTML
and CSS given as strings.

The renderer is given a URL fetcher that refuses every URL, local file included: a document is built only
from the HTML and CSS passed in, so nothing a letter's text or a signatory's details contain can make the
server read a file or call out to the network."""

from __future__ import annotations


class RendererMissing(RuntimeError):
    """WeasyPrint (or the Pango library it needs) is not installed."""


class FetchRefused(ValueError):
    pass


def refusing_fetcher():
    """A URL fetcher that fetches nothing, for the WeasyPrint version installed."""
    try:
        from weasyprint.urls import URLFetcher  # noqa: PLC0415  (optional: needs Pango; loaded when used)
    except ImportError:  # WeasyPrint before 66: a function

        def refuse(url, *args, **kwargs):
            raise FetchRefused(f"the PDF renderer fetches nothing ({url[:60]})")

        return refuse

    class Refuse(URLFetcher):
        def fetch(self, url, headers=None):
            raise FetchRefused(f"the PDF renderer fetches nothing ({url[:60]})")

    return Refuse()


def render_pdf(html: str, css: str) -> bytes:
    try:
        import weasyprint  # noqa: PLC0415  (optional: needs Pango; loaded when used)
    except (ImportError, OSError) as error:  # OSError: Pango missing
        raise RendererMissing(str(error)) from None
    fetcher = refusing_fetcher()
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[weasyprint.CSS(string=css, url_fetcher=fetcher)])
