"""The agent's keypad reaches the host as the keypad: KP_1, not 1.

Real key events in headless Chromium (WebDriver's keypad keys; CDP for the
keypad's Enter, which WebDriver cannot press) go through the page, the
bridge and the session to the host's injector, which records the keysyms.
With the agent's Num Lock off the keypad's keys are KP_End, KP_Home, ...;
the main Enter stays Return.
"""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from .harness import controlled_page, injected_keys

# WebDriver's keys with what the page must send for them.
PRESSED = [
    *[(getattr(Keys, f"NUMPAD{i}"), 0xFFB0 + i) for i in range(10)],  # KP_0..KP_9
    (Keys.DECIMAL, 0xFFAE),  # KP_Decimal
    (Keys.ADD, 0xFFAB),
    (Keys.SUBTRACT, 0xFFAD),
    (Keys.MULTIPLY, 0xFFAA),
    (Keys.DIVIDE, 0xFFAF),
    # Num Lock off: the keypad's 1, 7, 0 and decimal key (WebDriver's codes).
    ("\ue056", 0xFF9C),  # End on Numpad1: KP_End
    ("\ue057", 0xFF95),  # KP_Home
    ("\ue05c", 0xFF9E),  # KP_Insert
    ("\ue05d", 0xFF9F),  # KP_Delete
    ("1", 0x31),  # the main row's digit is still the digit
    (Keys.RETURN, 0xFF0D),  # the main Enter: Return
    (Keys.ENTER, 0xFF0D),  # WebDriver's NumpadEnter code, not on the keypad
]
KP_ENTER = 0xFF8D


def test_keypad_keys_are_the_hosts_keypad(browser: Any) -> None:
    with controlled_page(browser) as live:
        for key, _ in PRESSED:
            ActionChains(browser).send_keys(key).perform()
        for kind in ("rawKeyDown", "keyUp"):  # the keypad's own Enter
            browser.execute_cdp_cmd(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": "Enter", "code": "NumpadEnter",
                 "windowsVirtualKeyCode": 13, "isKeypad": True},
            )  # fmt: skip
        want = [ks for _, ks in PRESSED] + [KP_ENTER]
        live.wait(lambda: len(injected_keys(live)) >= 2 * len(want),
                  what="every key down and up")  # fmt: skip
        # Each key down and up as the same keysym, in the order pressed.
        sent = live.run(lambda: injected_keys(live))
        assert sent == [(ks, down) for ks in want for down in (True, False)]
