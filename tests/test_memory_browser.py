"""The dashboard's Memory page and "why" timeline in a real browser (headless Chromium through Playwright)."""

from __future__ import annotations

import pytest

from claw.core.store import facts as facts_db
from tests.test_dashboard_browser import Session, browser, dash, expect  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_search_edit_forget_and_undo_a_fact(dash: Session) -> None:  # noqa: F811
    app, page = dash.app, dash.page
    await app.local.ask("the spare key is under the blue pot")
    said = await app.store.run(lambda db: db.execute("SELECT MAX(id) FROM messages WHERE role = 'user'").fetchone()[0])
    fact = await app.recollection.remember(
        "The spare key is under the blue pot", scope=facts_db.HOUSEHOLD, author="Alex", source="whatsapp", message=said
    )
    await app.recollection.remember(
        "The bins go out on Tuesday", scope=facts_db.HOUSEHOLD, author="Alex", source="chat"
    )
    await page.locator("#memory-q").fill("spare key")
    await page.locator("#memory-form button").click()
    item = page.locator(f'#memory li.fact[data-id="{fact.id}"]')
    await expect(item).to_contain_text("The spare key is under the blue pot")
    await expect(item.locator(".said")).to_contain_text("the spare key is under the blue pot")  # its source message
    await expect(page.locator("#memory li.fact")).to_have_count(1)
    # edit: the new words supersede the old fact
    await item.locator('button[data-act="edit"]').click()
    await page.locator("#memory .fact-edit input").fill("The spare key is in the shed")
    await page.locator("#memory .fact-edit button[type=submit]").click()
    await expect(page.locator("#memory li.fact").first).to_contain_text("The spare key is in the shed")
    old = await app.store.run(facts_db.get, fact.id)
    assert old is not None and old.superseded_by is not None
    # undo brings the old words back
    await page.locator("#memory-undo-button").click()
    await expect(page.locator(f'#memory li.fact[data-id="{fact.id}"]')).to_contain_text("under the blue pot")
    # forget, then undo
    await page.locator(f'#memory li.fact[data-id="{fact.id}"] button[data-act="forget"]').click()
    await expect(page.locator("#memory li.empty")).to_be_visible()
    assert not (await app.store.run(facts_db.get, fact.id)).current  # type: ignore[union-attr]
    await page.locator("#memory-undo-button").click()
    await expect(page.locator(f'#memory li.fact[data-id="{fact.id}"]')).to_be_visible()


async def test_the_timeline_shows_what_happened_and_why(dash: Session) -> None:  # noqa: F811
    page = dash.page
    await page.locator("#chat-input").fill("turn on the porch light")
    await page.locator("#chat-form button").click()
    await expect(page.locator("#chat-log .msg.claw:not(.waiting)").last).to_contain_text("Porch Light")
    await page.reload()
    entry = page.locator("#timeline li.why", has_text="Porch Light").first
    await expect(entry).to_contain_text("turn on")
    await expect(entry.locator(".cause")).to_contain_text('Alex on chat ("turn on the porch light")')
