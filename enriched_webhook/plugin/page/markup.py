"""The one way a value gets into the page: escaped, whatever its type or origin.

`text` is for element content and `attr` for a quoted attribute value; both escape `&`,
`<`, `>`, `"` and `'`, so a value can never close its element or its attribute. `Html` marks
markup this package built itself, so that only trusted fragments are joined unescaped.
"""

from __future__ import annotations

from html import escape


class Html(str):
    """Markup built by this package from escaped parts: safe to join as it is."""


def text(value: object) -> Html:
    """Any value as element content; None shows as an em dash."""
    if value is None:
        return Html("\u2014")
    return Html(escape(str(value), quote=True))


def attr(value: object) -> Html:
    """Any value as the inside of a double-quoted attribute."""
    return Html(escape("" if value is None else str(value), quote=True))


def join(parts: list[Html]) -> Html:
    return Html("".join(parts))


def element(tag: str, content: Html | str = "", **attributes: object) -> Html:
    """`<tag a="v">content</tag>`; a str content is escaped, an Html one is kept.

    Attribute names come from this package's code (`class_` for `class`, `data_x` for
    `data-x`); their values are escaped. None or False leaves an attribute out, True
    writes it bare.
    """
    opening = "<" + tag
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        html_name = name.rstrip("_").replace("_", "-")
        if value is True:
            opening += " " + html_name
        else:
            opening += " " + html_name + '="' + attr(value) + '"'
    body = content if isinstance(content, Html) else text(content)
    return Html(opening + ">" + body + "</" + tag + ">")
