from askservice.websearch.extract import cut, page_text, plain

ARTICLE = """<html><head><title>Ferries of the Baltic | Sea News</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/login">Log in</a></li></ul></nav>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>
<article><h1>Ferries of the Baltic</h1>
<p>The night ferry from Tallinn to Stockholm carries about two thousand passengers and leaves at six in the evening.</p>
<p>Crossings take seventeen hours, and in winter the ship follows a channel kept open by icebreakers along the coast.</p>
</article>
<footer><p>Copyright 2026 Sea News Ltd. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def test_only_the_article_text_is_kept():
    title, text = page_text(ARTICLE.encode(), "text/html", "utf-8", "https://news.example/ferries", 10_000)
    assert "Ferries of the Baltic" in title
    assert "night ferry from Tallinn" in text and "icebreakers" in text
    for boilerplate in ("Log in", "Copyright", "Privacy policy", "cookies"):
        assert boilerplate not in text


def test_the_text_is_bounded():
    _, text = page_text(ARTICLE.encode(), "text/html", None, "https://news.example/ferries", 60)
    assert len(text) <= 60 and text.endswith(" …")


def test_a_page_too_short_for_main_content_still_gives_its_text():
    assert page_text(b"<html><body><p>Open 9-17.</p></body></html>", "text/html", None, "http://a/", 100)[1] == "Open 9-17."


def test_plain_text_is_decoded_with_its_charset():
    assert page_text("Grüße aus Köln\n".encode("latin-1"), "text/plain", "iso-8859-1", "http://a/", 100) == ("", "Grüße aus Köln")


def test_the_headers_charset_is_used_for_html():
    body = "<html><body><article><p>Grüße aus Köln, " + "und noch mehr Text über die Stadt. " * 5 + "</p></article></body></html>"
    assert "Grüße aus Köln" in page_text(body.encode("cp1252"), "text/html", "windows-1252", "http://a/", 1000)[1]


def test_snippets_lose_their_markup():
    assert plain("The <strong>night ferry</strong> &amp; the\n day boat") == "The night ferry & the day boat"
    assert plain("  no   markup ") == "no markup"


def test_cut_prefers_a_word_boundary():
    assert cut("alpha beta gamma", 100) == "alpha beta gamma"
    assert cut("alpha beta gamma delta epsilon", 21) == "alpha beta gamma …"
    assert cut("abcdefghij", 6) == "abcd …"
