"""Language: the user's choice, else the `lang` cookie, else the browser, else the default."""
from __future__ import annotations

from flask import Flask, g, request
from flask_babel import Babel

LANGUAGES = ("zh_CN", "en")


def select_locale() -> str:
    user = getattr(g, "user", None)
    if user is not None and user.locale in LANGUAGES:
        return user.locale
    cookie = request.cookies.get("lang")
    if cookie in LANGUAGES:
        return cookie
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    if best:
        return "en" if best == "en" else "zh_CN"
    from flask import current_app
    return current_app.config["GONGDAN"].default_locale


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
