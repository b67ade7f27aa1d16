"""Every page, as a browser renders it: each control has a label, each button a name, the
first Tab reaches the API key field, and every piece of visible text has a contrast ratio of
at least 4.5:1 against its background (WCAG 2 level AA for body text)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Served

# The WCAG 2 relative luminance and contrast ratio of each text element's colour against the
# first opaque background among it and its ancestors (white if none).
LOW_CONTRAST = """
() => {
  const channel = (value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const parse = (css) => css.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const rgba = parse(getComputedStyle(node).backgroundColor);
      if (rgba.length < 4 || rgba[3] === 1) return rgba.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const element of document.querySelectorAll("body *")) {
    const text = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text || !element.checkVisibility() || element.disabled) continue;
    const fore = luminance(parse(getComputedStyle(element).color));
    const back = luminance(background(element));
    const ratio = (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
    const said = element.textContent.trim().slice(0, 40);
    if (ratio < 4.5) low.push(`${element.tagName} "${said}" ${ratio.toFixed(2)}`);
  }
  return low;
}
"""
UNLABELLED = """
() => [...document.querySelectorAll("input, select, textarea")]
  .filter((control) => control.labels.length === 0)
  .map((control) => control.id || control.name)
"""
UNNAMED_BUTTONS = """
() => [...document.querySelectorAll("button")].filter((b) => !b.textContent.trim()).length
"""


@pytest.mark.parametrize("path", ["/", "/officer", "/auditor", "/analytics"])
def test_controls_are_labelled_reachable_by_keyboard_and_readable(
    page: Any, served: Served, path: str
) -> None:
    page.goto(served.url + path)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "api-key"
    page.get_by_label("Your API key", exact=False).fill(served.keys["officer"])
    page.keyboard.press("Enter")  # submitting the key form reveals the rest of the page
    page.wait_for_load_state("networkidle")
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(UNNAMED_BUTTONS) == 0
    assert page.evaluate(LOW_CONTRAST) == []
