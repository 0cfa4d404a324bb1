"""Description templates for the synthetic landlord: job types, schedule-of-rates lines and call-centre noise.

Pure: numpy and polars only, no files. ``job_catalogue()`` lists every job type the generator can raise;
``describe_jobs`` turns one job type index per row into a description and an optional SoR code, by sampling
pre-expanded phrase variants (so millions of rows cost a few vectorised passes, not a Python loop per row).

Red-flag phrasing and its look-alikes are built from the same parts (locations, trade prefixes, typos), so a
classifier cannot tell them apart by style, only by meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

TRADES = ("carpenter", "plumber", "electrician", "glazier", "locksmith", "gas engineer", "roofer", "general")
# Landlord priority codes, in the order of the generator's priority index (I and E are both emergencies).
PRIORITY_CODES = ("I", "E", "U", "N", "P", "V")
EMERGENCY_CODES = frozenset({0, 1})

# Shared phrase parts; ``{slot}`` in a template draws one of these at random.
SLOTS: dict[str, tuple[str, ...]] = {
    "tnt": ("tnt", "tenant", "TNT", "tnt", "resident", "tennant", "customer"),
    "reports": ("reports", "states", "rang to report", "called to say", "says", "reported", "advises"),
    "pls": ("pls rem", "please remedy", "pls attend", "pls rectify", "rem", "asap", "pls", "thanks"),
    "ext": (
        "front door",
        "FED",
        "F.E.D",
        "front entrance door",
        "rear door",
        "back door",
        "front dore",
        "main door",
        "FED",
        "entrance door",
        "back dore",
        "side door",
        "patio door",
        "front door of flat",
    ),
    "int": (
        "bathroom door",
        "WC door",
        "toilet door",
        "bedroom door",
        "living room door",
        "lounge door",
        "kitchen door",
        "internal door",
        "bathroom dore",
        "bedrm door",
        "back bedroom door",
        "hall door",
    ),
    "lock": (
        "lock",
        "cylinder",
        "euro cylinder",
        "cyclinder",
        "yale lock",
        "night latch",
        "mortice lock",
        "deadlock",
        "barrel",
        "locks",
        "euro cyl",
        "sashlock",
    ),
    "ilock": (
        "privacy lock",
        "thumbturn lock",
        "bathroom lock",
        "lock",
        "snib lock",
        "lock and keep",
        "mortice lock",
    ),
    "ilockdoor": ("bathroom door", "WC door", "toilet door", "bathroom dore", "bedroom door", "bathrm door"),
    "room": (
        "bathroom",
        "bedroom",
        "living room",
        "lounge",
        "kitchen",
        "back bedroom",
        "front bedroom",
        "bedrm 2",
        "hallway",
        "landing",
        "box room",
    ),
    "glassroom": (
        "kitchen",
        "bedroom",
        "front bedroom",
        "living room",
        "lounge",
        "bathroom",
        "rear",
        "front",
        "landing",
        "back bedroom",
        "hall",
        "bedroom 2",
        "kitchen side",
    ),
    "broken": ("broken", "smashed", "cracked", "shattered", "put through", "has been broken", "broke"),
    "dg": ("glass", "double glazed unit", "DG unit", "sealed unit", "pane", "glazing"),
    "lockreason": (
        "key snapped in lock",
        "lock jammed and now broken",
        "keys stolen",
        "ex partner has keys",
        "lost keys and worried about security",
        "lock damaged",
        "someone tried to force the lock",
        "keys taken",
        "lock seized, will not turn",
        "lock mechanism broken",
        "bag stolen with keys in",
        "key broke off in lock",
        "lock hanging off",
    ),
    "c_lock": (
        "",
        "",
        "",
        " asap",
        " - security",
        " - tnt vulnerable",
        " - call tnt before attending",
        " - pls rem",
        " 2 keys",
        ". tnt to collect keys from office",
        " - supply 3 keys",
        " urgent",
    ),
    "damage": (
        "hole in door panel",
        "frame split",
        "panel smashed",
        "door kicked in",
        "door hanging off after damage",
        "lock side of frame broken away",
        "door cracked down middle",
        "bottom panel kicked through",
        "frame split at keep",
        "door damaged",
    ),
    "c_door": (
        "",
        "",
        " - make safe",
        " pls rem",
        " - tnt says accident",
        " - tnt not sure how happened",
        ". door will not close",
        " - secure property",
        " - temp repair done",
        " - OOH made safe",
    ),
    "idamage": (
        "hole in door",
        "split",
        "panel broken",
        "smashed",
        "frame split",
        "off hinges and split",
        "hole punched through it",
        "kicked",
        "big hole in bottom panel",
        "cracked",
    ),
    "c_idoor": (
        "",
        "",
        " - tnt says accident",
        " - tnt says kids did it",
        " pls rem",
        " - rechargeable?",
        " tnt says fell against it",
        " - renew leaf",
        " - photos on file",
    ),
    "c_glass": (
        "",
        "",
        " - measure and reglaze",
        " pls rem",
        " - make safe",
        " - tnt says ball",
        " tnt unsure how",
    ),
    "c_board": (
        "",
        " - reglaze to follow",
        ", glaziers to return",
        " - tnt has young children",
        " pls attend",
    ),
    "c_keys": (
        "",
        "",
        " - recharge",
        " rechargeable",
        " - tnt waiting outside",
        " with young child",
        " asap",
    ),
    "n": ("2", "3", "4"),
    "fixture": (
        "kitchen sink",
        "bath taps",
        "WC",
        "cistern",
        "radiator",
        "wash basin",
        "washing machine valve",
        "shower",
        "pipe under sink",
        "stop tap",
        "hot water cylinder",
    ),
    "anyd": (
        "front door",
        "FED",
        "bathroom door",
        "bedroom door",
        "rear door",
        "kitchen door",
        "back door",
        "living room door",
        "internal doors",
        "porch door",
    ),
    "floor": ("ground", "1st", "2nd", "3rd", "top", "4th"),
    "code": ("F28", "EA", "E119", "F22", "L2", "E133", "F75"),
}

# Typing slips seen in call-centre notes (applied to a few rows; the classifier must cope).
TYPOS: tuple[tuple[str, str], ...] = (
    ("cylinder", "cyclinder"),
    ("door", "dore"),
    ("window", "windo"),
    ("tenant", "tenent"),
    ("replace", "replce"),
    ("broken", "borken"),
    ("kitchen", "kitchn"),
    ("bathroom", "bathrom"),
    ("renew", "renw"),
    ("please", "plese"),
    ("adjust", "ajust"),
    ("radiator", "radiater"),
    ("leak", "leek"),
    ("ceiling", "cieling"),
    ("attend", "atend"),
)

TRADE_PREFIXES: dict[str, tuple[str, ...]] = {
    "carpenter": ("CPT - ", "CP ", "CARP: ", "CPT "),
    "plumber": ("PLM - ", "PLUMB ", "PL: "),
    "electrician": ("ELE - ", "ELEC ", "EL: "),
    "glazier": ("GLZ - ", "GL ", "GLAZ: "),
    "locksmith": ("LKS - ", "LOCK ", "LS: "),
    "gas engineer": ("GAS - ", "HTG ", "H&HW: "),
    "roofer": ("RFR - ", "ROOF ", "RF: "),
    "general": ("GEN - ", "GB ", "MULTI: "),
}
OOH_PREFIXES = ("OOH - ", "OOH ", "O.O.H. ", "OOH: ", "OUT OF HOURS - ")


@dataclass(frozen=True)
class JobType:
    """One kind of job: its trades, priorities, SoR lines and free-text templates."""

    name: str
    trades: dict[str, float]
    priority: dict[str, float]  # over PRIORITY_CODES
    templates: tuple[str, ...]
    sor: tuple[tuple[str, str], ...] = ()
    flags: frozenset[str] = frozenset()
    weight: float = 0.0  # share of background responsive repairs in a dwelling (normalised later)
    cost_median_gbp: float = 90.0
    free_only: bool = False  # always free text (the text carries a per-row token such as a crime ref)
    slots: dict[str, tuple[str, ...]] = field(default_factory=dict)


E_HIGH = {"I": 0.25, "E": 0.65, "U": 0.10}
E_MID = {"I": 0.05, "E": 0.45, "U": 0.40, "N": 0.10}
U_MID = {"E": 0.10, "U": 0.55, "N": 0.35}
ROUTINE = {"E": 0.02, "U": 0.18, "N": 0.80}

F_LOCK, F_DOOR, F_WIN, F_KEYS, F_FORCED = (
    "lock_change",
    "door_damage",
    "window_damage",
    "lost_keys",
    "forced_entry",
)


def _jt(
    name: str,
    trades: dict[str, float] | str,
    priority: dict[str, float],
    templates: tuple[str, ...],
    sor: tuple[tuple[str, str], ...] = (),
    flags: tuple[str, ...] = (),
    weight: float = 0.0,
    cost: float = 90.0,
    free_only: bool = False,
) -> JobType:
    t = {trades: 1.0} if isinstance(trades, str) else trades
    return JobType(name, t, priority, templates, sor, frozenset(flags), weight, cost, free_only)


def job_catalogue() -> tuple[JobType, ...]:
    """Every job type, background and special. Weights sum to about 1 over the background dwelling types."""
    return (
        # ---- red flags in ordinary households (about 6.5% of responsive repairs) ----
        _jt(
            "rf_lock_ext",
            {"locksmith": 0.6, "carpenter": 0.4},
            E_MID,
            (
                "renew {lock} to {ext}{c_lock}",
                "change {lock} on {ext}{c_lock}",
                "{tnt} requests lock change to {ext} - {lockreason}",
                "{ext} {lock} broken - renew{c_lock}",
                "supply and fit new {lock} to {ext}",
                "{EXT} - CHANGE LOCKS{c_lock}",
                "lock change {ext}{c_lock}",
                "replace {lock} {ext}, {tnt} {reports} {lockreason}",
                "{tnt} {reports} {lockreason} - renew {lock} {ext}",
                "new {lock} required to {ext}",
                "emergency lock change - {ext}{c_lock}",
                "fit new {lock} {ext} as {lockreason}",
                "{ext}: {lockreason}. change {lock}",
                "LOCK CHANGE TO {EXT}",
                "renew {lock} {ext} {pls}",
            ),
            (
                ("JN2070", "Renew cylinder lock"),
                ("JN2075", "Renew mortice deadlock"),
                ("JN2080", "Renew night latch"),
                ("JN2100", "Supply and fit euro cylinder"),
                ("JN2110", "Renew multipoint lock gearbox"),
            ),
            (F_LOCK,),
            0.013,
            95,
        ),
        _jt(
            "rf_lock_int",
            "carpenter",
            U_MID,
            (
                "renew {ilock} to {ilockdoor}",
                "{ilockdoor} lock broken - fit new {ilock}",
                "change lock on {ilockdoor}",
                "bathroom lock broken off - renew",
                "fit new {ilock} to {ilockdoor}",
                "replace privacy lock to bathroom door",
                "{tnt} {reports} {ilockdoor} lock pulled off, renew lock",
                "BATHROOM DOOR LOCK BROKEN - RENEW LOCK",
                "renew thumbturn lock {ilockdoor}",
                "new lock needed for {ilockdoor}, old one snapped",
                "{ilockdoor} - lock smashed off, renew {ilock} {pls}",
            ),
            (("JN2090", "Renew bathroom privacy lock"), ("JN2095", "Renew internal door mortice lock")),
            (F_LOCK,),
            0.004,
            60,
        ),
        _jt(
            "rf_door_ext",
            "carpenter",
            E_MID,
            (
                "{ext} damaged - {damage}{c_door}",
                "{ext} frame split{c_door}",
                "{tnt} {reports} {ext} has been kicked in",
                "{ext} kicked, frame split at lock keep, make safe",
                "repair split frame to {ext}",
                "{EXT} HOLE IN PANEL - RENEW PANEL",
                "renew {ext} - damaged beyond repair",
                "rear door frame split",
                "{ext} {damage}{c_door}",
                "{tnt} {reports} {damage} to {ext}",
                "make good frame to {ext} - {damage}",
                "{ext} smashed, renew door and frame",
                "splice in new frame section {ext}, frame split",
            ),
            (
                ("JN1010", "Renew VPP front door"),
                ("JN1020", "Renew UPVC front entrance door complete"),
                ("JN1040", "Repair split door frame - splice in new section"),
                ("JN1050", "Renew door lining / frame complete"),
                ("JN1060", "Patch repair hole in door panel"),
            ),
            (F_DOOR,),
            0.009,
            240,
        ),
        _jt(
            "rf_door_int",
            "carpenter",
            ROUTINE,
            (
                "{int} has a hole in it{c_idoor}",
                "{int} damaged - {idamage}",
                "renew {int} leaf, {idamage}",
                "hole in {int} - renew door",
                "{int} kicked, hinge side split",
                "{INT} BROKEN - REPLACE",
                "{tnt} {reports} {int} {idamage}{c_idoor}",
                "renew internal door ({room}) - damaged",
                "{room} door frame split, make good",
                "fit new internal door to {room}, old door has hole punched",
                "bathroom door has a hole in it - tnt says accident",
                "{int} smashed {c_idoor}",
            ),
            (
                ("JN1030", "Renew internal door leaf - flush"),
                ("JN1035", "Renew internal door leaf - 4 panel"),
                ("JN1060", "Patch repair hole in door panel"),
            ),
            (F_DOOR,),
            0.006,
            150,
        ),
        _jt(
            "rf_glass",
            "glazier",
            U_MID,
            (
                "{glassroom} window glass {broken}{c_glass}",
                "reglaze {glassroom} window{c_glass}",
                "{tnt} {reports} {broken} glass to {glassroom} window",
                "renew {dg} to {glassroom} window - {broken}",
                "{GLASSROOM} WINDOW SMASHED - REGLAZE",
                "{glassroom} windo cracked, renew glass",
                "broken pane {glassroom}, renew",
                "cracked glass in {ext} - renew glass",
                "replace cracked DG unit {glassroom}",
                "{glassroom} window {broken}, measure and reglaze",
                "glass in {int} {broken} - reglaze",
            ),
            (
                ("GR0040", "4mm clear glass - 0.51 - 1m2"),
                ("GR0050", "4mm obscure glass up to 0.5m2"),
                ("GR0120", "6.4mm laminated glass 0.51-1m2"),
                ("GR0210", "Renew double glazed unit up to 1m2"),
                ("GR0300", "Georgian wired glass up to 0.5m2"),
                ("GR0060", "4mm clear float glass 0.26-0.5m2"),
            ),
            (F_WIN,),
            0.009,
            130,
        ),
        _jt(
            "rf_boardup",
            {"glazier": 0.6, "carpenter": 0.4},
            E_HIGH,
            (
                "board up broken {glassroom} window",
                "board up {glassroom} window{c_board}",
                "{glassroom} window smashed - make safe and board",
                "BOARD UP {GLASSROOM} WINDOW",
                "emergency board up - {glassroom} window {broken}",
                "attend and board up, glass {broken} in {glassroom} window",
                "make safe broken glass {glassroom} and board up",
                "{glassroom} windo {broken} - board up",
                "board {glassroom} window, glass out",
            ),
            (
                ("GR0900", "Board up window up to 1m2"),
                ("GR0910", "Board up window over 1m2"),
                ("GR0920", "Make safe broken glazing"),
            ),
            (F_WIN,),
            0.006,
            85,
        ),
        _jt(
            "rf_lost_keys",
            "locksmith",
            E_HIGH,
            (
                "{tnt} locked out - gain entry{c_keys}",
                "{tnt} lost keys, gain entry",
                "gain entry for {tnt}, keys lost",
                "{tnt} {reports} {ext} key spins in lock, cannot get in",
                "keys not working in {ext} lock",
                "cut new keys x{n} for {ext}",
                "{tnt} locked out, keys left inside",
                "LOST KEYS - GAIN ENTRY",
                "{tnt} has lost keys to {ext}, need new keys cut",
                "key broke off in lock, {tnt} cannot get in - gain entry",
                "{tnt} {reports} FED cannot lock, key spins in lock, {pls}",
                "gain entry - {tnt} locked out{c_keys}",
                "keys lost, {tnt} staying with family - gain entry {pls}",
            ),
            (("LK0010", "Gain entry - tenant locked out"), ("LK0020", "Cut keys - per key")),
            (F_KEYS,),
            0.008,
            70,
        ),
        _jt(
            "rf_lockout_change",
            "locksmith",
            E_HIGH,
            (
                "{TNT} LOCKED OUT, GAIN ENTRY + CHANGE LOCK",
                "gain entry and change {lock} - {tnt} lost keys",
                "{tnt} lost keys - change {lock} on {ext}",
                "keys stolen, change locks to {ext}",
                "locked out - drill {lock} and renew",
                "{tnt} {reports} keys taken, renew {lock} {ext}",
                "gain entry + renew {lock}, {tnt} locked out{c_keys}",
                "lost keys. gain entry and lock change {ext}",
            ),
            (("LK0030", "Gain entry and renew cylinder"),),
            (F_KEYS, F_LOCK),
            0.005,
            120,
        ),
        _jt(
            "rf_forced",
            {"carpenter": 0.8, "locksmith": 0.2},
            E_HIGH,
            (
                "police forced entry, make safe and secure",
                "police forced entry to {ext} for welfare check - make safe",
                "{ext} forced by police, secure property{c_door}",
                "make safe after forced entry{c_door}",
                "break in at property, secure {ext}",
                "attended after forced entry - frame split, board and secure",
                "POLICE FORCED ENTRY - SECURE DOOR",
                "forced entry by police/ambulance - renew {lock} and make good frame",
                "welfare check forced entry, {ext} damaged, make safe",
                "emergency services forced door - secure and make safe",
                "police have forced {ext}, {tnt} in hospital - secure",
            ),
            (("JN9010", "Make safe after forced entry"), ("JN9020", "Secure property after forced entry")),
            (F_FORCED, F_DOOR),
            0.004,
            160,
        ),
        # ---- look-alike phrasing that is not a red flag ----
        _jt(
            "lk_door_adjust",
            "carpenter",
            ROUTINE,
            (
                "ease and adjust {anyd}",
                "{anyd} sticking - ease and adjust",
                "{anyd} catching on frame, plane and rehang",
                "no damage to door, just adjust",
                "ease & adjust {anyd}",
                "door closer to {ext} not working - renew closer",
                "renew door closer",
                "{ext} draught strip worn - renew draught strip",
                "fit draught strip to {ext}",
                "kitchen cupboard doors hanging off - refix",
                "renew kitchen cupboard door",
                "refix hinges to kitchen unit door",
                "garage door will not open - repair",
                "garage door mechanism broken",
                "door handle loose on {int}, refix",
                "renew door handle to {anyd}",
                "letterbox flap broken - renew",
                "{anyd} not closing properly, adjust keep",
                "rehang {int} - dropped on hinges",
                "adjust hinges on {ext}, no damage",
                "{anyd} draughty, {pls}",
                "wardrobe door come off runner - refix",
                "{ext} swollen, sticking in frame - ease",
            ),
            (
                ("JN3010", "Ease and adjust door"),
                ("JN3020", "Renew door closer"),
                ("JN3030", "Renew draught strip to door"),
                ("JN4010", "Renew kitchen cupboard door"),
                ("JN3050", "Renew lever door furniture"),
                ("JN3060", "Rehang door on new hinges"),
            ),
            (),
            0.070,
            75,
        ),
        _jt(
            "lk_lock_adjust",
            {"carpenter": 0.6, "locksmith": 0.4},
            ROUTINE,
            (
                "lubricate lock to {ext}",
                "{ext} lock stiff - lubricate and adjust",
                "adjust keep on {ext}, lock not engaging",
                "ease and adjust lock {ext}",
                "service multipoint locking mechanism",
                "lock stiff, oil and adjust, no need to renew",
                "{ext} hard to lock - adjust door and keep",
                "FED lock stiff - lube + adjust",
                "FED cannot lock, adjust door",
                "{tnt} {reports} {ext} difficult to lock, {pls}",
                "handle on {ext} floppy, adjust mechanism",
            ),
            (("JN3040", "Lubricate and adjust lock"), ("JN3045", "Adjust keep and striking plate")),
            (),
            0.030,
            55,
        ),
        _jt(
            "lk_window",
            {"glazier": 0.6, "carpenter": 0.4},
            ROUTINE,
            (
                "window restrictor broken - renew",
                "fit window restrictors {glassroom}",
                "{glassroom} window stiff, ease and adjust",
                "renew friction hinges to {glassroom} window",
                "window handle broken {glassroom}, renew handle",
                "{glassroom} window draughty - renew seals",
                "condensation on {glassroom} windows, check trickle vents",
                "trickle vent broken {glassroom}",
                "{glassroom} window won't close, adjust",
                "restrictor missing on bedroom window",
                "{glassroom} window will not open, ease and adjust",
                "window hinge gone {glassroom} - window dropped",
            ),
            (
                ("JN6010", "Ease and adjust window"),
                ("JN6020", "Renew window restrictor"),
                ("JN6030", "Renew window hinge (friction stay)"),
                ("GR0500", "Renew window handle"),
            ),
            (),
            0.060,
            70,
        ),
        # ---- ordinary responsive repairs ----
        _jt(
            "plumb_leak",
            "plumber",
            {"I": 0.10, "E": 0.45, "U": 0.35, "N": 0.10},
            (
                "leak under {fixture}",
                "{tnt} {reports} leak from {fixture}",
                "water coming through {room} ceiling from flat above",
                "leaking pipe in airing cupboard",
                "trace and repair leak - {room}",
                "water leak, isolate and make safe",
                "leak from WC cistern onto floor",
                "overflow dripping outside",
                "bath panel wet, leak behind bath",
                "LEAK UNDER SINK - {pls}",
                "{fixture} leaking {pls}",
                "water dripping through light fitting in {room}",
            ),
            (
                ("PL3010", "Trace and repair leak"),
                ("PL3020", "Renew flexible connector"),
                ("PL3030", "Renew section of pipe"),
            ),
            (),
            0.120,
            95,
        ),
        _jt(
            "plumb_fixtures",
            "plumber",
            {"E": 0.15, "U": 0.35, "N": 0.50},
            (
                "WC not flushing, renew syphon",
                "tap dripping - renew washer",
                "kitchen tap loose",
                "shower not working",
                "renew WC seat",
                "bath sealant mouldy, re-seal",
                "basin blocked",
                "sink blocked - clear waste",
                "toilet blocked",
                "renew ball valve in cistern",
                "WC pan cracked, renew pan",
                "{fixture} not working properly {pls}",
                "hot tap won't turn off",
                "shower tray cracked - leaking",
            ),
            (
                ("PL1010", "Renew WC pan"),
                ("PL1020", "Renew WC cistern syphon"),
                ("PL2010", "Clear blocked sink waste"),
                ("PL2020", "Renew tap washer"),
                ("PL1030", "Renew WC seat"),
            ),
            (),
            0.090,
            80,
        ),
        _jt(
            "drains",
            {"plumber": 0.5, "general": 0.5},
            {"E": 0.35, "U": 0.40, "N": 0.25},
            (
                "outside drain blocked",
                "gully blocked and overflowing",
                "clear blocked drain at rear",
                "smell from drains",
                "manhole blocked, sewage in garden",
                "soil stack blocked",
            ),
            (("GN1040", "Clear outside drain"), ("PL4010", "Rod and clear drain run")),
            (),
            0.035,
            110,
        ),
        _jt(
            "heating",
            "gas engineer",
            {"I": 0.05, "E": 0.50, "U": 0.35, "N": 0.10},
            (
                "no heating or hot water",
                "boiler not working - no HW",
                "no heat no hot water, vulnerable tnt",
                "radiator cold at top, bleed",
                "overhaul radiator valve {room}",
                "boiler losing pressure",
                "TRV stuck - renew",
                "boiler showing fault code {code}",
                "heating on all the time, programmer faulty",
                "radiator leaking in {room}",
                "gas smell reported - isolate and check",
                "no hot water, heating ok",
                "NO HEATING - {pls}",
                "{room} radiator not getting hot",
                "boiler making loud banging noise",
            ),
            (
                ("GS1010", "Overhaul radiator valve"),
                ("GS1020", "Boiler breakdown - attend and repair"),
                ("GS1030", "Renew thermostatic radiator valve"),
                ("GS1040", "Bleed radiators and repressurise system"),
            ),
            (),
            0.120,
            140,
        ),
        _jt(
            "electrical",
            "electrician",
            {"I": 0.05, "E": 0.30, "U": 0.35, "N": 0.30},
            (
                "no power to sockets in {room}",
                "{room} light not working",
                "renew socket - scorched",
                "extractor fan in bathroom not working",
                "smoke alarm beeping - renew",
                "RCD tripping",
                "total loss of power",
                "renew pull cord switch bathroom",
                "outside light not working",
                "cooker switch faulty",
                "renew light fitting {room}",
                "immersion heater not working",
                "sparks from socket in {room}",
                "{room} ceiling light flickering {pls}",
            ),
            (
                ("EL1010", "Renew socket outlet"),
                ("EL1020", "Renew light fitting"),
                ("EL1030", "Renew extractor fan"),
                ("EL1040", "Renew smoke alarm (mains)"),
                ("EL1050", "Investigate tripping RCD"),
            ),
            (),
            0.100,
            85,
        ),
        _jt(
            "roof",
            "roofer",
            {"E": 0.15, "U": 0.35, "N": 0.50},
            (
                "slipped tiles on roof",
                "gutter leaking at front",
                "clear blocked gutters",
                "roof leak into {room} ceiling",
                "flat roof leaking over porch",
                "downpipe broken - renew",
                "ridge tile loose",
                "flashing around chimney letting water in",
                "tiles blown off in storm",
            ),
            (
                ("RF1010", "Renew slipped tiles"),
                ("RF1020", "Clear gutters"),
                ("RF1030", "Patch repair flat roof covering"),
            ),
            (),
            0.050,
            180,
        ),
        _jt(
            "damp",
            "general",
            ROUTINE,
            (
                "damp and mould in {room}",
                "black mould on {room} walls - mould wash",
                "condensation and mould bathroom, treat",
                "damp patch on {room} ceiling",
                "mould treatment - {room} and bathroom",
                "damp in hallway - survey",
                "DAMP SURVEY REQUESTED",
                "mould behind wardrobe in {room}",
                "{tnt} {reports} mould coming back in {room}",
            ),
            (("GN1010", "Treat mould with fungicidal wash"), ("GN1015", "Damp survey")),
            (),
            0.060,
            120,
        ),
        _jt(
            "carp_general",
            "carpenter",
            ROUTINE,
            (
                "kitchen worktop loose - refix",
                "renew kitchen unit carcass",
                "stair banister loose",
                "skirting board coming away in {room}",
                "floorboards loose in {room}",
                "renew stair tread",
                "bath panel broken - renew",
                "shelf in airing cupboard collapsed",
                "loft hatch won't close",
                "handrail loose on stairs",
                "kitchen drawer runners broken",
            ),
            (
                ("JN5010", "Renew stair tread"),
                ("JN5020", "Renew skirting board per m"),
                ("JN4020", "Refix kitchen worktop"),
                ("JN5030", "Refix floorboards"),
            ),
            (),
            0.080,
            90,
        ),
        _jt(
            "general",
            "general",
            ROUTINE,
            (
                "fence panel blown down",
                "gate broken - repair",
                "path cracked - trip hazard",
                "remove graffiti from front wall",
                "pest control - mice",
                "replaster {room} ceiling after leak",
                "make good plaster in {room}",
                "rotten fascia board",
                "shed roof leaking",
                "{room} ceiling cracked and bowing",
                "washing line post loose",
                "steps to front uneven",
            ),
            (
                ("GN1020", "Renew fence panel"),
                ("GN1030", "Hack off and replaster per m2"),
                ("GN1050", "Make good plaster"),
            ),
            (),
            0.070,
            110,
        ),
        # ---- communal (no tenancy) ----
        _jt(
            "communal",
            {"electrician": 0.45, "carpenter": 0.35, "general": 0.20},
            U_MID,
            (
                "communal door entry fob not working",
                "new fob required for communal door entry",
                "door entry system faulty",
                "communal door closer broken",
                "communal entrance door not closing - adjust closer",
                "communal lights out on {floor} floor landing",
                "graffiti to bin store - remove",
                "renew communal door entry handset",
                "communal stairwell light flickering",
                "communal window restrictor broken",
                "bin store door will not shut",
                "communal door entry fob programme - issue new fobs",
                "emergency lighting test failed {floor} floor",
            ),
            (
                ("CM1010", "Communal door entry - repair"),
                ("CM1020", "Communal lighting - renew lamp"),
                ("JN3020", "Renew door closer"),
            ),
            (),
            0.0,
            95,
        ),
        _jt(
            "communal_damage",
            {"carpenter": 0.6, "glazier": 0.4},
            E_HIGH,
            (
                "communal entrance door glass smashed - board up",
                "vandalism to communal door, frame split",
                "communal door kicked in - make safe",
                "stairwell window broken by vandals",
                "communal door glass cracked",
            ),
            (
                ("GR0900", "Board up window up to 1m2"),
                ("JN1040", "Repair split door frame - splice in new section"),
            ),
            (F_DOOR, F_WIN),
            0.0,
            160,
        ),
        # ---- voids (priority V, no tenancy) ----
        _jt(
            "void_lock",
            {"locksmith": 0.7, "carpenter": 0.3},
            {"V": 1.0},
            (
                "Void - change locks",
                "VOID LOCK CHANGE",
                "void - renew cylinder to FED and rear door",
                "change locks at void, keys to office",
                "void security - change all locks",
                "Void property - renew euro cylinders x2",
                "void: lock change + key safe",
                "VOID - CHANGE LOCKS TO ALL EXTERNAL DOORS",
            ),
            (("VD1000", "Void - change locks"),),
            (F_LOCK,),
            0.0,
            110,
        ),
        _jt(
            "void_other",
            {"general": 0.5, "gas engineer": 0.2, "electrician": 0.2, "carpenter": 0.1},
            {"V": 1.0},
            (
                "Void clearance - remove all items",
                "void clean",
                "void - gas cap and test",
                "Void EICR electrical test",
                "Void - renew kitchen",
                "void decoration allowance",
                "void - repair plaster throughout",
                "VOID: REMOVE CARPETS",
                "void - install new smoke alarms",
                "void - bathroom renewal",
                "void - fit security screens",
                "void - remove security screens",
            ),
            (
                ("VD1010", "Void clearance"),
                ("VD1020", "Void clean"),
                ("VD1030", "Gas cap and test"),
                ("VD1040", "Electrical test (EICR)"),
            ),
            (),
            0.0,
            350,
        ),
        # ---- planned programmes (priority P) ----
        _jt(
            "planned_window",
            "glazier",
            {"P": 1.0},
            (
                "Window replacement programme - renew windows",
                "WINDOW REPLACEMENT PROGRAMME - renew all windows",
                "Renew windows (planned programme) - UPVC DG",
                "Planned: window renewal programme",
                "window programme: replace windows and make good",
            ),
            (("PW1000", "Window replacement programme - renew windows"),),
            (),
            0.0,
            3800,
        ),
        _jt(
            "planned_door",
            "carpenter",
            {"P": 1.0},
            (
                "Door replacement programme - renew front entrance door",
                "Planned - renew FED and rear door (composite)",
                "FED renewal programme - PAS 24 door",
                "door programme: supply & fit composite front door",
            ),
            (("PW2000", "Door replacement programme - renew front entrance door"),),
            (),
            0.0,
            1200,
        ),
        _jt(
            "planned_kitchen",
            {"general": 0.6, "carpenter": 0.4},
            {"P": 1.0},
            (
                "Kitchen replacement programme",
                "planned kitchen renewal",
                "Decent homes - renew kitchen",
                "kitchen programme - renew units and worktops",
            ),
            (("PW3000", "Kitchen replacement programme"),),
            (),
            0.0,
            4200,
        ),
        _jt(
            "planned_firedoor",
            "carpenter",
            {"P": 1.0},
            (
                "Fire door inspection programme - flat entrance door",
                "FD30 fire door check - flat entrance door",
                "fire door survey programme - intumescent strips and smoke seals",
                "Fire door inspection: adjust self closer",
            ),
            (("PW4000", "Fire door inspection programme"),),
            (),
            0.0,
            60,
        ),
        # ---- Sanctuary Scheme works for known cases ----
        _jt(
            "sanctuary_lock",
            {"locksmith": 0.7, "carpenter": 0.3},
            {"I": 0.2, "E": 0.6, "U": 0.2},
            (
                "Sanctuary - fit additional mortice lock to FED",
                "Emergency lock change - sanctuary scheme",
                "change locks - referral from DA team",
                "sanctuary scheme: renew cylinder and fit extra deadlock",
                "Sanctuary scheme - fit double locking night latch",
            ),
            (("SS1020", "Sanctuary - fit additional mortice lock"),),
            (F_LOCK,),
            0.0,
            140,
        ),
        _jt(
            "sanctuary_other",
            {"locksmith": 0.5, "carpenter": 0.3, "electrician": 0.2},
            {"E": 0.3, "U": 0.7},
            (
                "Sanctuary scheme - fit door viewer and London bar",
                "sanctuary scheme: window locks to ground floor windows",
                "Fit door chain and viewer (sanctuary)",
                "Sanctuary - fit fire-proof letter box",
                "sanctuary scheme - fit Birmingham bar and hinge bolts",
                "Sanctuary: security lighting to front",
            ),
            (
                ("SS1010", "Sanctuary scheme - fit door viewer and London bar"),
                ("SS1050", "Fit fire-proof letter box"),
            ),
            (),
            0.0,
            180,
        ),
        # ---- look-alike events: burglary (with a crime reference) and block vandalism ----
        _jt(
            "burg_forced",
            "carpenter",
            E_HIGH,
            (
                "Break-in - {ext} forced, make safe. crime ref <CRIME>",
                "burglary at property, police ref <CRIME> - secure {ext}",
                "make safe after burglary, crime no <CRIME>",
                "forced entry by burglars to {ext}, police attended (<CRIME>)",
                "BURGLARY - SECURE PROPERTY. CRIME REF <CRIME>",
            ),
            (("JN9010", "Make safe after forced entry"),),
            (F_FORCED, F_DOOR),
            0.0,
            180,
            free_only=True,
        ),
        _jt(
            "burg_lock",
            "locksmith",
            E_HIGH,
            (
                "renew {lock} following burglary - crime ref <CRIME>",
                "change locks after break in, police ref <CRIME>",
                "burglary, keys taken - change locks {ext} (crime ref <CRIME>)",
            ),
            (("JN2070", "Renew cylinder lock"),),
            (F_LOCK,),
            0.0,
            110,
            free_only=True,
        ),
        _jt(
            "burg_glass",
            "glazier",
            E_HIGH,
            (
                "reglaze {glassroom} window broken during burglary (crime ref <CRIME>)",
                "board up {glassroom} window after break-in - police ref <CRIME>",
                "glass {broken} by intruders {glassroom}, board up. crime no <CRIME>",
            ),
            (("GR0900", "Board up window up to 1m2"),),
            (F_WIN,),
            0.0,
            120,
            free_only=True,
        ),
        _jt(
            "vand_door",
            "carpenter",
            E_MID,
            (
                "{ext} damaged by vandals",
                "vandalism - {ext} kicked, frame split",
                "door panel smashed - vandalism in block",
                "youths damaged {ext}, make safe",
                "{ext} vandalised overnight, {damage}",
            ),
            (("JN1060", "Patch repair hole in door panel"),),
            (F_DOOR,),
            0.0,
            200,
        ),
        _jt(
            "vand_glass",
            "glazier",
            E_HIGH,
            (
                "{glassroom} window smashed by youths - board up",
                "vandalism - glass {broken} to {glassroom} window",
                "stone thrown through {glassroom} window",
                "kids smashed {glassroom} window, board up",
            ),
            (("GR0900", "Board up window up to 1m2"),),
            (F_WIN,),
            0.0,
            120,
        ),
    )


_SLOT = re.compile(r"\{([A-Za-z_]+)\}")


def _fill(template: str, rng: np.random.Generator, extra: dict[str, tuple[str, ...]]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        options = extra.get(name.lower()) or SLOTS[name.lower()]
        value = options[int(rng.integers(len(options)))]
        return value.upper() if name.isupper() else value

    return _SLOT.sub(one, template)


def expand_variants(job: JobType, rng: np.random.Generator, n: int = 400) -> list[str]:
    """Up to ``n`` distinct phrasings of one job type, drawn by filling its templates at random."""
    seen: dict[str, None] = {}
    for _ in range(n * 3):
        template = job.templates[int(rng.integers(len(job.templates)))]
        seen.setdefault(_fill(template, rng, job.slots), None)
        if len(seen) >= n:
            break
    return list(seen)


@dataclass(frozen=True)
class TextTables:
    """Flattened variant tables: type i's free texts are ``free[free_off[i]:free_off[i]+free_n[i]]``."""

    free: pl.Series
    free_off: np.ndarray
    free_n: np.ndarray
    sor_text: pl.Series
    sor_code: pl.Series
    sor_off: np.ndarray
    sor_n: np.ndarray
    free_only: np.ndarray


def text_tables(catalogue: tuple[JobType, ...], rng: np.random.Generator) -> TextTables:
    free: list[str] = []
    sor_text: list[str] = []
    sor_code: list[str] = []
    free_off, free_n, sor_off, sor_n = [], [], [], []
    for job in catalogue:
        variants = expand_variants(job, rng)
        free_off.append(len(free))
        free_n.append(len(variants))
        free.extend(variants)
        sor_off.append(len(sor_text))
        sor_n.append(len(job.sor))
        sor_code.extend(c for c, _ in job.sor)
        sor_text.extend(t for _, t in job.sor)
    return TextTables(
        pl.Series(free, dtype=pl.String),
        np.array(free_off),
        np.array(free_n),
        pl.Series(sor_text, dtype=pl.String),
        pl.Series(sor_code, dtype=pl.String),
        np.array(sor_off),
        np.array(sor_n),
        np.array([j.free_only for j in catalogue]),
    )


def describe_jobs(
    job_type: np.ndarray,
    trade: np.ndarray,
    priority: np.ndarray,
    tables: TextTables,
    rng: np.random.Generator,
) -> tuple[pl.Series, pl.Series]:
    """One description and one SoR code (or null) per job.

    ``job_type`` indexes the catalogue, ``trade`` indexes TRADES, ``priority`` indexes PRIORITY_CODES. About
    a third of rows are the bare SoR line, a sixth the SoR line plus a note, the rest call-centre free text
    (which still carries the job's SoR code two times in five).
    """
    n = len(job_type)
    u = rng.random(n)
    free_idx = tables.free_off[job_type] + (u * tables.free_n[job_type]).astype(np.int64)
    has_sor = tables.sor_n[job_type] > 0
    sor_pick = tables.sor_off[job_type] + (rng.random(n) * np.maximum(tables.sor_n[job_type], 1)).astype(
        np.int64
    )
    sor_pick = np.where(has_sor, sor_pick, 0)
    mode = rng.choice(3, size=n, p=[0.33, 0.17, 0.50])
    mode = np.where(has_sor & ~tables.free_only[job_type], mode, 2)
    code_kept = (mode < 2) | (rng.random(n) < 0.4)
    free = tables.free.gather(free_idx)
    sor_t = tables.sor_text.gather(sor_pick) if len(tables.sor_text) else pl.repeat("", n, eager=True)
    sor_c = tables.sor_code.gather(sor_pick) if len(tables.sor_code) else pl.repeat("", n, eager=True)
    desc = (
        pl.DataFrame({"free": free, "sor_t": sor_t, "mode": mode})
        .select(
            pl.when(pl.col("mode") == 0)
            .then(pl.col("sor_t"))
            .when(pl.col("mode") == 1)
            .then(pl.concat_str(pl.col("sor_t"), pl.lit(" - "), pl.col("free")))
            .otherwise(pl.col("free"))
        )
        .to_series()
    )
    # Noise touches a minority of rows: work on those rows only and scatter them back.
    typo = rng.integers(0, len(TYPOS) * 12, size=n)  # one typo in about one row in twelve
    for i, (right, wrong) in enumerate(TYPOS):
        desc = _rewrite(desc, np.flatnonzero(typo == i), _replacer(right, wrong))
    case = rng.choice(3, size=n, p=[0.84, 0.11, 0.05])
    desc = _rewrite(desc, np.flatnonzero(case == 1), lambda s: s.str.to_uppercase())
    desc = _rewrite(desc, np.flatnonzero(case == 2), lambda s: s.str.to_lowercase())
    pick = rng.integers(0, 1000, size=n)
    prefix = rng.random(n)
    is_emergency = np.isin(priority, list(EMERGENCY_CODES))
    ooh_rows = np.flatnonzero(is_emergency & (prefix < 0.25) & (mode == 2))
    trade_rows = np.flatnonzero((prefix > 0.72) & (mode == 2))
    ooh = pl.Series(OOH_PREFIXES).gather(pick[ooh_rows] % len(OOH_PREFIXES))
    desc = _rewrite(desc, ooh_rows, lambda s: ooh + s)
    trade_prefix = pl.Series([p for t in TRADES for p in TRADE_PREFIXES[t]])
    trade_cnt = np.array([len(TRADE_PREFIXES[t]) for t in TRADES])
    trade_off = np.cumsum(trade_cnt) - trade_cnt
    tp = trade_prefix.gather(trade_off[trade[trade_rows]] + pick[trade_rows] % trade_cnt[trade[trade_rows]])
    desc = _rewrite(desc, trade_rows, lambda s: tp + s)
    spaces = rng.random(n)
    desc = _rewrite(desc, np.flatnonzero(spaces < 0.06), lambda s: s.str.replace(" ", "  ", literal=True))
    desc = _rewrite(desc, np.flatnonzero((spaces >= 0.06) & (spaces < 0.10)), lambda s: s + " ")
    code = sor_c.set(pl.Series(~(code_kept & has_sor)), None)  # type: ignore[arg-type]
    return desc.alias("description"), code.alias("sor_code")


def _replacer(right: str, wrong: str) -> Callable[[pl.Series], pl.Series]:
    return lambda s: s.str.replace(right, wrong, literal=True)


def _rewrite(series: pl.Series, rows: np.ndarray, change: Callable[[pl.Series], pl.Series]) -> pl.Series:
    if len(rows) == 0:
        return series
    return series.scatter(rows, change(series.gather(rows)))


def crime_reference(rng: np.random.Generator, year: int) -> str:
    """A police or crime reference as call handlers type them."""
    yy = year % 100
    style = int(rng.integers(5))
    if style == 0:
        return f"CR/{int(rng.integers(100000, 999999))}/{yy:02d}"
    if style == 1:
        return f"CAD {int(rng.integers(1000, 9999))}"
    if style == 2:
        return f"{int(rng.integers(10, 99))}/{int(rng.integers(100000, 999999))}/{yy:02d}"
    if style == 3:
        return f"CRN {int(rng.integers(10_000_000, 99_999_999))}"
    return f"incident {int(rng.integers(100, 9999)):04d}"


# ---- ASB ----
# (landlord category, weight, description phrases). Noise categories make about a third of cases.
ASB_CATEGORIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    (
        "Noise",
        0.20,
        (
            "loud music late at night from neighbouring property",
            "banging and stamping from flat above",
            "parties most weekends, music until 3am",
            "TV very loud through the wall",
            "dog barking and loud music",
            "neighbour playing music loud during the day, asked them to turn it down",
        ),
    ),
    (
        "Noise - music",
        0.06,
        (
            "bass from music through the walls every night",
            "music played loudly in garden",
            "loud music from car outside property",
        ),
    ),
    (
        "Domestic noise - shouting/arguing",
        0.05,
        (
            "shouting and arguing heard from neighbouring property",
            "raised voices and doors slamming late at night",
            "couple next door arguing loudly",
        ),
    ),
    (
        "Verbal abuse",
        0.10,
        (
            "neighbour swore at complainant in the car park",
            "verbal abuse over parking",
            "shouted abuse at complainant's children",
            "abusive comments on the stairwell",
        ),
    ),
    (
        "Harassment",
        0.08,
        (
            "repeated knocking on door and messages",
            "neighbour filming complainant's house",
            "ongoing dispute, notes pushed through door",
        ),
    ),
    (
        "Criminal damage",
        0.07,
        ("car scratched, suspects neighbour", "fence damaged deliberately", "plant pots smashed"),
    ),
    (
        "Drugs",
        0.08,
        (
            "smell of cannabis in communal stairwell",
            "suspected drug dealing from property, visitors all hours",
            "people coming and going late at night",
        ),
    ),
    (
        "Pets/animals",
        0.08,
        (
            "dog fouling in communal garden",
            "dog barking constantly when owners out",
            "cats from neighbour spraying in hallway",
        ),
    ),
    (
        "Rubbish/fly tipping",
        0.09,
        ("rubbish left in communal area", "mattress dumped by bin store", "bags of rubbish in front garden"),
    ),
    (
        "Vehicles",
        0.06,
        ("car parked across driveway", "abandoned vehicle in parking bay", "motorbike revving late at night"),
    ),
    (
        "Garden nuisance",
        0.06,
        ("overgrown garden, rats", "bonfires in back garden", "trampoline against shared fence"),
    ),
    ("Threatening behaviour", 0.04, ("neighbour threatened complainant", "threats made on the landing")),
    ("Alcohol related", 0.03, ("drinking in the communal garden, shouting", "drunk visitors in stairwell")),
)
# What a neighbour says when the household is the subject of a domestic abuse pattern.
ASB_DA_DESCRIPTIONS: tuple[str, ...] = (
    "neighbour reports shouting, screaming and banging from the property late at night",
    "loud arguing and things being thrown, heard a door being slammed repeatedly",
    "complainant heard a woman crying and a man shouting, banging on walls",
    "ongoing shouting and arguing most nights, sounded like a fight",
    "banging and raised voices from flat, complainant worried for the woman next door",
    "shouting and swearing at 2am, sounded like someone being pushed against the wall",
)
ASB_DA_CATEGORIES: tuple[str, ...] = ("Domestic noise - shouting/arguing", "Noise", "Noise", "Verbal abuse")
ASB_ROLES = {
    "complainant": "Complainant",
    "subject": "Alleged Perpetrator",
    "victim": "Victim",
    "witness": "Witness",
}

# ---- recharges ----
RECHARGE_REASONS: dict[str, tuple[str, ...]] = {
    "keys": (
        "Lost keys - gain entry",
        "Gain entry - tenant locked out",
        "Lock out call out charge",
        "Recharge: lost keys, new cylinder + keys",
        "Lockout - out of hours call out",
        "lost keys",
    ),
    "glass": (
        "Rechargeable - broken glass",
        "Broken window - tenant damage",
        "Reglazing recharge",
        "Recharge - reglaze window",
        "broken glass",
    ),
    "door": (
        "Damage to door",
        "Recharge - internal door damaged",
        "Tenant damage - front door",
        "Rechargeable repair: door and frame",
        "damage to door",
    ),
    "lock": ("Lock change at tenant request", "Recharge - lock change", "Rechargeable lock change"),
    "clearance": (
        "Clearance of items",
        "Clearance of items left at void",
        "Rubbish removal - end of tenancy",
        "Void clearance recharge",
    ),
    "callout": ("Call out - no fault found", "Wasted call out", "Missed appointment charge"),
}
RECHARGE_STATUS = ("Raised", "Paid", "Disputed", "Written Off")

# ---- known-case markers (landlord wording, value-mapped in mapping.yaml) ----
DA_MARKERS = ("DA - Domestic Abuse", "MARAC", "Sanctuary Scheme")
OTHER_MARKERS = ("Vulnerable - mental health", "Staff Safety", "Hoarding", "Interpreter required")

ESTATE_STEMS = (
    "Beacon",
    "Hollybrook",
    "Marsh Lane",
    "Orchard",
    "Kingsmead",
    "Riverside",
    "Fairfield",
    "Ashgrove",
    "Parkside",
    "Westbury",
    "Millfield",
    "Sandown",
    "Elmhurst",
    "Brookvale",
    "Highfield",
    "Larkspur",
    "Thornbury",
    "Oakwood",
    "Cedar",
    "Valley",
    "Foxhill",
    "Greenacres",
    "Harbour",
    "Lime Tree",
    "Meadowbank",
    "Northgate",
    "Priory",
    "Queensway",
    "Rosehill",
    "Southfields",
    "Tanners",
    "Upton",
    "Willowdene",
    "Yew Tree",
    "Abbey",
    "Burnside",
)
ESTATE_SUFFIXES = ("Estate", "Park", "Gardens", "Court", "Green", "Village", "Fields", "Rise")


def estate_names(n: int) -> list[str]:
    """``n`` distinct invented estate names."""
    names = [f"{s} {x}" for x in ESTATE_SUFFIXES for s in ESTATE_STEMS]
    return [
        names[i % len(names)] + ("" if i < len(names) else f" Phase {i // len(names) + 1}") for i in range(n)
    ]
