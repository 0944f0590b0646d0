"""Error pages in Ukrainian for the web pages (the API answers problem+json; see api/errors.py)."""

from flask import render_template, request

PAGES = {
    400: ("Неправильний запит", "Сторінка не зрозуміла запиту. Поверніться назад і спробуйте ще раз."),
    403: ("Доступ заборонено", "Ця сторінка доступна лише ролям, яким вона потрібна для роботи."),
    404: ("Сторінку не знайдено", "Такої сторінки немає. Можливо, посилання застаріло або в ньому помилка."),
    405: ("Дію не дозволено", "Ця сторінка не приймає такого запиту."),
    413: ("Завеликий файл", "Файл більший, ніж дозволено. Зменште його (наприклад, скануйте з меншою роздільністю)."),
    500: ("Внутрішня помилка", "Сталася непередбачена помилка; її записано в журнал. Спробуйте пізніше."),
}


def wants_page() -> bool:
    """A request of the web pages (not the API, not its documents), from a browser."""
    return not request.path.startswith("/api/") and request.accept_mimetypes.accept_html


def page(status: int) -> tuple[str, int]:
    title, message = PAGES.get(status, (PAGES[500][0] if status >= 500 else "Помилка", PAGES[500][1] if status >= 500 else ""))
    return render_template("error.html", title=title, message=message), status
