"""Which passwords are accepted: long enough, and not easy to guess.

Length alone let "aaaaaaaaaaaa" and "Password1234" through. Guessability is estimated with
zxcvbn (Dropbox's estimator): it knows the 30,000 most common passwords, English words,
names and surnames, and sees repeats ("abcabc"), sequences ("12345", "abcde"), keyboard
walks ("qwertyuiop"), dates, common substitutions ("p@ssw0rd") and the person's own name
and e-mail address. A password it expects to take fewer than 10^8 guesses (its score
under 3) is refused, with the reason of its weakest part.

No Flask: the command line and the account page use the same rule; the command line says
`Weakness` in English, the page in the reader's language (accounts.weakness_message).
Passwords are hashed here too (scrypt, memory-hard), after the rule is applied.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from enum import StrEnum

from werkzeug.security import generate_password_hash
from zxcvbn import zxcvbn

METHOD = "scrypt"
MIN_LENGTH = 12
MAX_LENGTH = 1024
GOOD_ENOUGH_SCORE = 3  # zxcvbn: "safely unguessable", about 10^8 guesses or more
_SCORED_LENGTH = 72  # zxcvbn's own cap; a longer password is judged on its first 72


class Weakness(StrEnum):
    """Why a password is refused, from the most to the least specific."""

    TOO_SHORT = f"is too short: at least {MIN_LENGTH} characters are needed"
    TOO_LONG = f"is too long: at most {MAX_LENGTH} characters are allowed"
    PERSONAL = "contains the person's name or e-mail address"
    COMMON = "is a commonly used password, or close to one"
    REPEATED = "repeats a character or a group of characters"
    SEQUENCE = "is a sequence such as abcd or 1234"
    KEYBOARD = "follows a row or pattern of the keyboard"
    DATE = "is mostly a date or a year"
    WORDS = "is a common word or name with few changes"
    GUESSABLE = "is too easy to guess"


class WeakPassword(ValueError):
    """A password refused by `check`; `weakness` says why."""

    def __init__(self, weakness: Weakness) -> None:
        self.weakness = weakness
        super().__init__(f"the password {weakness.value}")


# zxcvbn keeps the person's own words in a module-level table while it scores.
_scoring = threading.Lock()
_PATTERN_WEAKNESS = {"repeat": Weakness.REPEATED, "sequence": Weakness.SEQUENCE,
                     "spatial": Weakness.KEYBOARD, "date": Weakness.DATE,
                     "regex": Weakness.DATE}


def weakness(password: str, personal: Iterable[str] = ()) -> Weakness | None:
    """Why the password would be refused, or None when it is good enough.

    `personal` are the person's own words (e-mail address, name): a password built on them
    is easy to guess for anyone who knows whose account it is.
    """
    if len(password) < MIN_LENGTH:
        return Weakness.TOO_SHORT
    if len(password) > MAX_LENGTH:
        return Weakness.TOO_LONG
    words = []
    for text in personal:
        words.append(text)
        words.extend(part for part in text.replace("@", " ").replace(".", " ").split()
                     if len(part) >= 3)
    with _scoring:
        result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=words)
    if result["score"] >= GOOD_ENOUGH_SCORE:
        return None
    found = []
    for match in result["sequence"]:
        if match["pattern"] == "dictionary":
            found.append(Weakness.PERSONAL if match["dictionary_name"] == "user_inputs"
                         else Weakness.COMMON if match["dictionary_name"] == "passwords"
                         else Weakness.WORDS)
        elif match["pattern"] in _PATTERN_WEAKNESS:
            found.append(_PATTERN_WEAKNESS[match["pattern"]])
    order = list(Weakness)
    return min(found, key=order.index) if found else Weakness.GUESSABLE


def check(password: str, personal: Iterable[str] = ()) -> None:
    """Raise WeakPassword unless the password is long enough and hard enough to guess."""
    found = weakness(password, personal)
    if found is not None:
        raise WeakPassword(found)


def hash_password(password: str, personal: Iterable[str] = ()) -> str:
    """Hash with scrypt (memory-hard); raise WeakPassword for a short, common or otherwise
    guessable password (`personal`: the person's e-mail address and name)."""
    check(password, personal)
    return generate_password_hash(password, method=METHOD)
