"""Callback data: a verb and its arguments, `verb:arg:arg`, always under Telegram's 64 bytes.

Buttons that answer a question carry the encoded position they belong to, so a press on a
button from an older message is recognised as stale instead of changing state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_CALLBACK_BYTES = 64


class Verb(StrEnum):
    # Before joining, the consent screen's buttons carry its state (nothing is stored yet):
    # <easy> is 1 for easy read, <details> 1 when "More about your data" is open.
    CONSENT = "ok"  # ok:<workshop code>:<lang>:<easy>
    DECLINE = "no"  # no:<workshop code>:<lang>:<easy>
    CONSENT_LANGUAGE = "cl"  # cl:<code>:<lang>:<details>:<easy>: the consent in another language
    CONSENT_MORE = "cm"  # cm:<workshop code>:<lang>:<easy>: the consent with everything about data
    EASY_READ = "easy"  # easy:<1|0>, or easy:<1|0>:<code>:<lang>:<details> on the consent screen
    LANGUAGE = "lang"  # lang:<lang>
    ROLE = "role"  # role:<role>
    PRIORITY = "prio"  # prio:<position>:<1-5|u>
    SKIP = "skip"  # skip:<position>
    BACK = "back"  # back:<position>
    PAUSE = "pause"  # pause:<position>
    MORE = "more"  # more:<position>
    RESUME = "go"  # go
    EDIT = "edit"  # edit:<recommendation id>
    SUBMIT = "done"  # done
    FORGET = "forget"  # forget:yes|ws|no (everything, this workshop, keep)
    FOLLOWUP = "fu"  # fu: start the follow-up round
    CONTACT_ME = "sos"  # sos: please let a person from the team contact me
    END_RELAY = "endchat"  # endchat: end the conversation with the team
    QUOTE_CONSENT = "qc"  # qc:y|n: may we share your words (asked before they finish)
    SHARING = "share"  # share: the list of their typed answers, shared or private
    QUOTE_TOGGLE = "qt"  # qt:<rec>:<question short>:<round>:y|n: share one answer or not
    WITHDRAW = "stop"  # stop: "Stop and delete my answers", from any screen
    REMINDERS_OFF = "roff"  # roff: "Stop reminders", on every reminder and nudge
    QUOTE_REVIEW = "qa"  # qa:<answer id>:a|h: a facilitator approves or hides a quote
    THEME_REVIEW = "th"  # th:<theme id>:a|h: a facilitator approves or hides a keyword group
    MATCH = "mc"  # mc:<position>:y|p|n: the member check, "Does this match what you think?"
    ALERT = "sg"  # sg:<alert id>:show|done|write|end: a safeguarding lead's buttons
    # Facilitators' buttons: same codec, routed to their handlers by verb.
    WORKSHOP_SETTING = "fw"  # fw:<code>:<op>:<arg>: a workshop's settings and scope picker
    SCHEDULE_PICK = "fs"  # fs:<code>:d:<yyyymmdd>, :t:<day>:<hhmm>, :z:<day>:<hhmm>:<zone>
    SCHEDULE_CANCEL = "fc"  # fc:<job id>: cancel a planned job
    BROADCAST_CONFIRM = "fb"  # fb:<job id>:go|no: send or drop a broadcast draft


@dataclass(frozen=True)
class Callback:
    verb: Verb
    args: tuple[str, ...] = ()

    def encode(self) -> str:
        data = ":".join((self.verb.value, *self.args))
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
        return data

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None


def callback(verb: Verb, *args: str) -> str:
    return Callback(verb, args).encode()


def decode(data: str | None) -> Callback | None:
    """None for anything we did not produce (old formats, forged data)."""
    if not data:
        return None
    verb_text, *args = data.split(":")
    try:
        verb = Verb(verb_text)
    except ValueError:
        return None
    return Callback(verb, tuple(args))
