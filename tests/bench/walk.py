"""What one simulated technician does: the walk through a whole report, as data.

A walk is a list of actions (send a text, press a button, send photos), each with
what the technician then waits for in Terrain's answers: the prompt of a step (read
from its "n/N ·" header), a button with a given label, an edit of the message
pressed, a PDF. Buttons are found by a short part of their label, so a prompt can
change its wording without breaking the walk. The steps come from the report
template itself, in its order; optional sections are skipped by some technicians
and filled in by others.

Each text and photo the technician sends says where it should end up
(`Action.stores`), which the fault run checks against the database.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import re
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image, ImageDraw

from reports.rules.templates import Template, load_templates
from tests.bench.deploy import Planned

TEMPLATE = "maintenance"

# Parts of the buttons' labels (French: the technicians write in French).
START = "Commencer"
SKIP = "Passer"
NEXT = "Suivant"
DONE = "Terminé"
UNTICKED = "⬜"
YES = "Oui"
NO_COMMENT = "Pas de commentaire"
NOW = "Maintenant"
HOURS_OK = "C'est juste"
FLAT_FEE = "Forfait"
PRICING_OK = "Valider"
CONTINUE = "Continuer"
WITHOUT_RESERVATIONS = "Sans réserve"
SIGNATURE_OK = "Oui, continuer"
SEND = "Envoyer"

#: A prompt's header: "Étape 5/13 · Pièces".
STEP_HEADER = re.compile(r"(\d+)/(\d+) · ")


def step_shown(text: str) -> int | None:
    """The step number a prompt's header announces, if it has one."""
    match = STEP_HEADER.search(text)
    return int(match.group(1)) if match else None


# Pictures ------------------------------------------------------------------------


def photo(seed: int) -> bytes:
    """A small JPEG of a coloured gradient with noise: every seed gives other bytes."""
    rng = random.Random(seed)
    width, height = 320, 240
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    image = Image.blend(base, noise, 0.35)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75)
    return buffer.getvalue()


def signature(seed: int) -> bytes:
    """A photo of a dark scribble on off-white paper."""
    rng = random.Random(seed)
    image = Image.new("RGB", (600, 360), (238, 234, 226))
    draw = ImageDraw.Draw(image)
    x, y = 60, 180
    points = []
    while x < 540:
        points.append((x, y))
        x += rng.randint(6, 14)
        y = max(60, min(300, y + rng.randint(-40, 40)))
    draw.line(points, fill=(25, 30, 80), width=5)
    draw.line([(70, 290), (520, 280 + rng.randint(-10, 10))], fill=(25, 30, 80), width=4)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Actions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What the technician waits for after an action, in Terrain's answers."""

    step: int | None = None
    """A message whose header announces this step."""
    button: tuple[str, ...] = ()
    """A message with a button whose label contains every one of these."""
    contains: str = ""
    """A message whose text contains this."""
    method: str | None = None
    """Sent with this method (editMessageReplyMarkup, sendDocument...)."""
    same_message: bool = False
    """An edit of the message the button was pressed on."""
    pdf: bool = False
    """A PDF document."""

    def describe(self) -> str:
        parts = []
        if self.method:
            parts.append(self.method)
        if self.same_message:
            parts.append("an edit of the message pressed")
        if self.step is not None:
            parts.append(f"the prompt of step {self.step}")
        if self.button:
            parts.append(f"a button {' … '.join(self.button)!r}")
        if self.contains:
            parts.append(f"a text containing {self.contains!r}")
        if self.pdf:
            parts.append("a PDF")
        return ", ".join(parts) or "any answer"


Kind = Literal["text", "press", "photos"]


@dataclass(frozen=True)
class Action:
    """One thing a technician sends, and what they wait for before the next one."""

    kind: Kind
    what: str
    """What it is, for the transcript: "context", "open the card"..."""
    expect: Expect
    text: str = ""
    """The text sent, or the part of the label of the button pressed."""
    photos: tuple[bytes, ...] = ()
    caption: str | None = None
    stores: tuple[tuple[str, str], ...] = ()
    """Where each input should be stored: ("context", text), ("photo", sha256)..."""
    slow: bool = False
    """Waits for a PDF to be rendered and sent: allowed more time."""

    @property
    def updates(self) -> int:
        return len(self.photos) if self.kind == "photos" else 1

    @property
    def album(self) -> bool:
        return len(self.photos) > 1


@dataclass
class Walk:
    """A technician's whole walk."""

    planned: Planned
    actions: list[Action] = field(default_factory=list)
    submits: bool = False
    album: bool = False

    @property
    def updates(self) -> int:
        return sum(action.updates for action in self.actions)


def template() -> Template:
    return load_templates(None)[TEMPLATE]


def plan(planned: Planned, *, submits: bool, album: bool, seed: int) -> Walk:
    """The walk of one technician through the maintenance report.

    Optional sections are typed by some technicians and skipped by others (chosen by
    their index); everyone ticks a checklist item, adds a part on one line, sends one
    photo (and an album of three when `album`), ends the times now with the flat
    travel fee, confirms the pricing and goes on from the review. Those who `submits`
    also have the work accepted, send both signatures and submit the report.
    """
    walk = Walk(planned, submits=submits, album=album)
    add = walk.actions.append
    n = planned.index
    tag = f"{n + 1:02d}"
    steps = template().steps()
    number_of = {step.key: position for position, step in enumerate(steps, start=1)}

    add(Action("text", "/today", Expect(button=(planned.number,)), text="/today"))
    add(Action("press", "open the card", Expect(button=(START,)), text=planned.number))
    add(Action("press", "start", Expect(step=1), text=START))
    for position, step in enumerate(steps, start=1):
        then = Expect(step=position + 1)
        optional = not template().required(step.key)
        key = step.key
        if step.kind == "text":
            writes = not optional or (n + position) % 2 == 0
            if writes:
                value = f"{key} de la technicienne {tag} : RAS, test de charge n°{seed}."
                add(Action("text", key, then, text=value, stores=((key, value),)))
            else:
                add(Action("press", f"skip {key}", then, text=SKIP))
        elif step.kind == "checklist":
            ticked = Expect(same_message=True)  # the checklist, redrawn in place
            add(Action("press", "tick a checklist item", ticked, text=UNTICKED))
            add(Action("press", "methods: next", then, text=NEXT))
        elif step.kind == "parts":
            reference = f"REF-{tag}-{seed}"
            line = f"{reference}; Filtre à air G4; 2; 14,50"
            added = Expect(button=(DONE,), contains=reference)
            add(
                Action(
                    "text", "a part on one line", added, text=line, stores=(("part", reference),)
                )
            )
            add(Action("press", "parts: done", then, text=DONE))
        elif step.kind == "photos":
            first = photo(seed * 100_000 + n * 10)
            add(
                Action(
                    "photos",
                    "one photo",
                    Expect(button=(DONE, "(1)")),
                    photos=(first,),
                    caption=f"Avant intervention {tag}",
                    stores=(("photo", sha256(first)),),
                )
            )
            count = 1
            if album:
                album_photos = tuple(photo(seed * 100_000 + n * 10 + k) for k in (1, 2, 3))
                count += len(album_photos)
                add(
                    Action(
                        "photos",
                        "an album of three photos",
                        Expect(button=(DONE, f"({count})")),
                        photos=album_photos,
                        stores=tuple(("photo", sha256(p)) for p in album_photos),
                    )
                )
            add(Action("press", "photos: done", then, text=DONE))
        elif step.kind == "results":
            comment = f"Objectifs atteints, contrôle {tag} conforme."
            add(Action("press", "results: yes", Expect(button=(NO_COMMENT,)), text=YES))
            add(
                Action(
                    "text",
                    "results comment",
                    then,
                    text=comment,
                    stores=(("results_comment", comment),),
                )
            )
        elif step.kind == "times":
            add(Action("press", "times: ended now", Expect(button=(HOURS_OK,)), text=NOW))
            add(Action("press", "times: hours right", Expect(button=(FLAT_FEE,)), text=HOURS_OK))
            add(Action("press", "times: flat travel fee", then, text=FLAT_FEE))
        elif step.kind == "pricing":
            add(Action("press", "pricing: confirm", then, text=PRICING_OK))
        elif step.kind == "review":
            add(Action("press", "review: continue", then, text=CONTINUE))
        elif step.kind == "acceptance":
            if not submits:
                break  # the walk ends on the acceptance's first question
            here = Expect(step=position)
            name = f"Claire Martin {tag}"
            client_sign, own_sign = (
                signature(seed * 1000 + n * 2),
                signature(seed * 1000 + n * 2 + 1),
            )
            add(
                Action(
                    "text",
                    "acceptance: signer's name",
                    Expect(button=(WITHOUT_RESERVATIONS,)),
                    text=name,
                    stores=(("client_signer_name", name),),
                )
            )
            add(Action("press", "acceptance: no reservations", here, text=WITHOUT_RESERVATIONS))
            add(
                Action(
                    "photos",
                    "client's signature",
                    Expect(button=(SIGNATURE_OK,)),
                    photos=(client_sign,),
                    stores=(("signature", sha256(client_sign)),),
                )
            )
            add(Action("press", "acceptance: signature readable", here, text=SIGNATURE_OK))
            add(
                Action(
                    "photos",
                    "own signature",
                    then,
                    photos=(own_sign,),
                    stores=(("signature", sha256(own_sign)),),
                )
            )
        elif step.kind == "submit":
            add(Action("press", "submit", Expect(pdf=True), text=SEND, slow=True))
        else:
            raise ValueError(f"the walk does not know the step {key!r} ({step.kind})")
        assert number_of[key] == position
    return walk


def plan_all(people: list[Planned], *, submit_share: float, seed: int) -> list[Walk]:
    """Everyone's walk: `submit_share` of them, spread evenly from the first one, submit;
    every other one sends an album."""
    walks = []
    for person in people:
        n = person.index
        submits = math.ceil((n + 1) * submit_share) > math.ceil(n * submit_share)
        walks.append(plan(person, submits=submits, album=n % 2 == 0, seed=seed))
    return walks
