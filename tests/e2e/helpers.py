"""Browser helpers shared by the e2e tests."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout


def pick_option(page: Any, picker: str, text: str, label: str, attempts: int = 3) -> None:
    """Open a server-searched dropdown, type, and choose the option with `label`.

    Keystrokes typed before the menu's search box has focus are lost on a busy machine, so
    the search is retried a few times before the test fails.
    """
    for attempt in range(attempts):
        page.click(picker)
        page.keyboard.type(text)
        option = page.locator(".dash-dropdown-option", has_text=label)
        try:
            option.first.wait_for(state="visible", timeout=8_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            if attempt == attempts - 1:
                raise
            continue
        option.first.click()
        page.keyboard.press("Escape")
        return
