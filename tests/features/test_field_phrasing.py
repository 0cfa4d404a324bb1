"""Field phrasing: how UK housing repair exports actually read, in our own words (no real export text).

Each case is (description, expected categories ``;``-separated, expected location). The phrasing covers
NHF / M3 schedule-of-rates lines, call-centre notes (abbreviations, typos, capitals, txt-speak), triage codes
separated by pipes, negations, and the look-alike families the contract says are not red flags. Decisions
follow the categories table in the extract contract:

- fitting a lock or cylinder *on* a door is a lock change, not a door renewal;
- a door "off its hinges" or rehung is not door damage unless it was kicked, forced, broken or damaged off;
- a broken handle, letterbox or closer is not door damage; "won't lock" is a fault, not a lock change,
  but keys that spin or no longer work are lost keys;
- "kicked in" says the door was damaged; forced entry needs forced / break-in / burglary words;
- void lock changes are lock changes (voids are discounted later, not here); planned programmes never flag.
"""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from features.classification import Vocabulary, classify_texts
from pipelines.core.paths import conf_dir

D, F, L, K, W = "door_damage", "forced_entry", "lock_change", "lost_keys", "window_damage"
EXT, INT, UNK = "external", "internal", "unknown"

# (text, categories, location) -- categories sorted alphabetically, location None when nothing is flagged.
SCHEDULE_OF_RATES: list[tuple[str, list[str], str | None]] = [
    ("Renew mortice sashlock", [L], UNK),
    ("Renew rim nightlatch", [L], UNK),
    ("Renew 5 lever mortice deadlock", [L], UNK),
    ("Renew euro profile cylinder", [L], UNK),
    ("Renew euro cylinder 35/45 anti-snap", [L], UNK),
    ("Supply & fit BS3621 sashlock", [L], UNK),
    ("Renew UPVC multipoint gearbox", [L], UNK),
    ("Renew bathroom indicator bolt", [L], INT),
    ("Renew flush door leaf internal", [D], INT),
    ("Renew external door frame hardwood", [D], EXT),
    ("Renew door lining", [D], INT),
    ("Renew hardwood external door complete with frame", [D], EXT),
    ("Renew UPVC entrance door and frame", [D], EXT),
    ("Renew composite front door slab", [D], EXT),
    ("Renew door stop", [], None),
    ("Renew door architrave one side", [], None),
    ("Renew door ironmongery - lever handles", [], None),
    ("Renew overhead door closer", [], None),
    ("Renew threshold weatherbar to back door", [], None),
    ("Reglaze with 6.4mm laminated", [W], UNK),
    ("Supply and fit 4mm float glass to 0.5m2", [W], UNK),
    ("4mm Georgian wired glass 0.51-1m2", [W], UNK),
    ("Glaze 6mm toughened n.e. 0.5 sq m", [W], UNK),
    ("Renew double glazed sealed unit n.e. 1m2", [W], UNK),
    ("Supply D/G unit 1-2m2", [W], UNK),
    ("4mm OBS 0.26-0.5m2", [W], UNK),
    ("Polycarbonate sheet to door panel 0.3m2", [W], UNK),
    ("Board up window opening n.e. 1m2", [W], UNK),
    ("Board up door opening with ply", [D], UNK),
    ("Make safe and board up after break-in", [F, W], UNK),
    ("Remove broken glass and make safe", [W], UNK),
    ("Supply new key", [K], UNK),
    ("Cut additional keys", [K], UNK),
    ("Supply and cut 2 no. keys", [K], UNK),
    ("Ease and adjust door", [], None),
    ("Ease, adjust and oil door and lock", [], None),
    ("Rehang door on new hinges", [], None),
    ("Renew hinges to door 1 pair", [], None),
    ("Renew letter plate", [], None),
    ("Renew door chain and viewer", [], None),
    ("Renew kitchen base unit door", [], None),
    ("Renew wardrobe door", [], None),
    ("Renew garage up and over door", [], None),
    ("Renew shed door and hasp", [], None),
    ("Renew timber garden gate", [], None),
    ("Renew window restrictor", [], None),
    ("Renew window hinges friction stay", [], None),
    ("Renew window handle locking", [], None),
    ("Fit trickle vent to window head", [], None),
    ("Renew hot water cylinder 117ltr", [], None),
    ("Renew cylinder thermostat", [], None),
    ("Renew gas meter box door", [], None),
    ("Install key safe", [], None),
    ("Supply and fit door bell", [], None),
    ("Renew door entry handset", [], None),
]

LEAD_MISSES: list[tuple[str, list[str], str | None]] = [
    # fitting a lock ON a door is a lock change only
    ("fit euro cylinder front door", [L], EXT),
    ("replace multipoint locking mechanism rear door", [L], EXT),
    ("supply and fit nightlatch to FED", [L], EXT),
    ("Renew sashlock back door", [L], EXT),
    ("fit new mortice lock to bedroom door", [L], INT),
    ("change lock bathroom door", [L], INT),
    ("install privacy lock on WC door", [L], INT),
    ("renew cyl frt dr", [L], EXT),
    ("new n/latch fitted to front door", [L], EXT),
    ("m/lock renewed to rear dr", [L], EXT),
    # holes and kicks without articles
    ("Bathroom door has hole", [D], INT),
    ("hole in dr", [D], UNK),
    ("bedrm door holed", [D], INT),
    ("door has been punched", [D], UNK),
    ("fist hole in door", [D], UNK),
    ("door kicked", [D], UNK),
    ("FED kicked in", [D], EXT),
    ("boot marks and split panel on front door", [D], EXT),
    ("front door has large hole in bottom panel", [D], EXT),
    ("hole kicked through bedroom door", [D], INT),
    ("lounge door punched, hole in centre", [D], INT),
    ("bedroom door smashed by son", [D], INT),
    ("kitchen door split down middle", [D], INT),
    ("internal door has dent and crack", [D], INT),
    # hinges: damage only when it says so
    ("door off hinges, rehang", [], None),
    ("bedroom door hanging off hinges pls rehang", [], None),
    ("front door kicked off its hinges", [D], EXT),
    ("bathroom door broken off hinges", [D], INT),
    # fittings and faults
    ("door handle broken", [], None),
    ("letterbox broken on front door", [], None),
    ("UPVC door won't lock, mechanism faulty", [], None),
    ("FED will not lock, handle floppy", [], None),
    ("keys spin in lock on FED", [K], EXT),
    ("key snapped in front door lock", [K], EXT),
]

CALL_CENTRE: list[tuple[str, list[str], str | None]] = [
    ("tnt rpt FED kicked in, pls make safe asap", [D], EXT),
    ("OOH P1 - front door forced by police, secure and renew lock", [D, F, L], EXT),
    ("RED forced by police - renew cyl", [D, F, L], EXT),
    ("BED kicked in overnight", [D], EXT),
    ("burglary last night, RED forced, new lock needed", [D, F, L], EXT),
    ("POLICE FORCED ENTRY TO FLAT, DOOR FRAME SPLIT, CHANGE LOCKS", [D, F, L], EXT),
    ("break in at property - rear window smashed, reglaze", [F, W], EXT),
    ("tnt burgled, kitchen wndw smashd and frt dr lock broken", [F, W], INT),
    ("intruder got in through bathroom window, glass broken", [F, W], INT),
    ("window lock broken after break-in, reglaze", [F, W], UNK),
    ("tnt locked out, locksmith to gain entry and change lock", [L, K], UNK),
    ("tenant locked out - forced entry by locksmith, renew nightlatch", [F, L, K], UNK),
    ("keys lost pls change locks asap", [L, K], UNK),
    ("tnt lost keys, cut new set", [K], UNK),
    ("tnt has no keys - ex has taken them", [K], UNK),
    ("tnt's keys stolen with handbag, change lock", [L, K], UNK),
    ("Tnt rpts key wont turn in FED", [K], EXT),
    ("key broke off in lock, back door", [K], EXT),
    ("gain entry for tnt, keys left inside", [K], UNK),
    ("lock change requested by police - DA", [L], UNK),
    ("lock chg on FED, tenant request, safety", [L], EXT),
    ("urgent change of locks front and back doors", [L], EXT),
    ("Emergency lk change", [L], UNK),
    ("change lcks asap pls", [L], UNK),
    ("Replace cyclinder in frt door", [L], EXT),
    ("fit new cylinder FED", [L], EXT),
    ("Renew eurocylinder to rear door", [L], EXT),
    ("FED smashed - d/g unit in door panel broken", [D, W], EXT),
    ("glass panel in front door smashed", [W], EXT),
    ("dble glzd unit cracked in lounge", [W], INT),
    ("bedroom wndw smashed, board up", [W], INT),
    ("WINDOW SMASHED BY EX PARTNER", [W], UNK),
    ("cracked pane patio door", [W], EXT),
    ("patio door glass smashed, board up OOH", [W], EXT),
    ("french door glass cracked", [W], EXT),
    ("rear door damaged in attempted break in", [D, F], EXT),
    ("front door damaged by police", [D], EXT),
    ("door frame damaged where door was forced", [D, F], UNK),
    ("frame split on FED, make secure", [D], EXT),
    ("splice repair to door frame after forced entry", [D, F], UNK),
    ("FED needs replacing - badly damaged", [D], EXT),
    ("Renew FED - damaged beyond repair", [D], EXT),
    ("replace bathroom door (kicked in)", [D], INT),
    ("toilet door broken, replace", [D], INT),
    ("new internal door required to bedroom", [D], INT),
    ("replace lounge door, damaged", [D], INT),
    ("living room door has been kicked", [D], INT),
    ("RENEW BATHROOM DOOR AND LOCK", [D, L], INT),
    ("back door kicked in and lock broken, renew lock", [D, L], EXT),
    ("Police executed warrant, front door forced, board up", [D, F], EXT),
    ("Make safe following police forced entry", [F], UNK),
    ("Attend to secure property after burglary", [F], UNK),
    ("Property broken into, front door insecure", [D, F], EXT),
    ("rear door insecure after break-in", [D, F], EXT),
    ("balcony door forced open", [D, F], EXT),
    ("CPT - secure FED after police entry", [D], EXT),
    ("TNT LOCKED OUT - GAIN ENTRY - OOH", [K], UNK),
    ("lockout, tnt left keys in flat", [K], UNK),
    ("key stuck in front door lock, wont turn", [K], EXT),
    ("cylinder spinning, tnt cant get in", [K], UNK),
    ("tnt cant get in - lost keys - pls attend asap", [K], UNK),
    ("no access - door kicked in by tnt's ex", [D], UNK),
    ("drill out cylinder and renew", [L], UNK),
    ("drill lock to gain entry", [F], UNK),
    ("Police enforced entry, make safe", [F], UNK),
    ("Renew cylinder after police warrant", [L], UNK),
    ("Glass in FED smashed", [W], EXT),
    ("tnt states bricks thrown through window", [W], UNK),
    ("Replace broken key in lock", [K], UNK),
    ("police attended, smashed glass in back door to gain entry", [F, W], EXT),
]

TRIAGE_CODES: list[tuple[str, list[str], str | None]] = [
    ("DOOR | EXTERNAL | FORCED ENTRY | EMERGENCY", [D, F], EXT),
    ("DOOR | INTERNAL | DAMAGED | ROUTINE", [D], INT),
    ("WINDOW | GLASS | BROKEN | EMERGENCY", [W], UNK),
    ("LOCKS | LOST KEYS | URGENT", [K], UNK),
    ("LOCKS | LOCK CHANGE | EMERGENCY", [L], UNK),
    ("SECURITY | BREAK IN | MAKE SAFE", [F], UNK),
    ("DOOR | EXTERNAL | WILL NOT LOCK | URGENT", [], None),
    ("DOOR | INTERNAL | EASE AND ADJUST | ROUTINE", [], None),
    ("WINDOW | STIFF | ROUTINE", [], None),
    ("WINDOW | RESTRICTOR | URGENT", [], None),
]

NEGATIONS: list[tuple[str, list[str], str | None]] = [
    ("no damage to frame, ease door", [], None),
    ("no forced entry evident, tnt advised", [], None),
    ("window stiff, glass intact", [], None),
    ("bedroom door not broken just stiff", [], None),
    ("checked lock - no fault found", [], None),
    ("lock working, no need to change lock", [], None),
    ("no need to change locks, keys found", [], None),
    ("attended - no sign of break in, lock ok", [], None),
    ("police did not force door, tnt let them in", [], None),
    ("glass not cracked, bead loose", [], None),
    ("front door not damaged, draught strip renewed", [], None),
    ("door undamaged, adjust keep", [], None),
    ("no damage to door. glass smashed in kitchen window", [W], INT),
]

LOOK_ALIKES: list[tuple[str, list[str], str | None]] = [
    # windows
    ("Window lock broken - bedroom", [], None),
    ("renew window restrictor bedroom 2", [], None),
    ("window handle snapped, renew", [], None),
    ("window hinges broken, sash dropped", [], None),
    ("trickle vent broken lounge window", [], None),
    ("condensation between panes", [], None),
    ("Shower screen glass cracked", [], None),
    ("d/g unit misted, renew", [], None),
    ("window draughty and stiff", [], None),
    ("window keys lost, supply new", [], None),
    # doors and fittings
    ("door closer broken on FED", [], None),
    ("Ease & adjust bedroom door, catching on carpet", [], None),
    ("fit draught excluder strip to front door", [], None),
    ("Paint front door", [], None),
    ("kitchen cupboard door hanging off", [], None),
    ("kitchen unit door broken, renew hinge", [], None),
    ("wardrobe door off track", [], None),
    ("garage door damaged by car", [], None),
    ("garage door lock broken, renew", [], None),
    ("shed door rotten, renew", [], None),
    ("Gate broken, renew latch", [], None),
    ("Fire door inspection - FD30 compliance", [], None),
    ("FD30 fire door upgrade programme, renew flat entrance door", [], None),
    ("door handle loose on bathroom door", [], None),
    ("letterbox flap broken", [], None),
    ("door bell not working", [], None),
    ("spyhole fitted to front door at tenant request", [], None),
    # communal entry, fobs, padlocks
    ("communal door entry system faulty", [], None),
    ("new fob required for main entrance", [], None),
    ("intercom handset broken in flat", [], None),
    ("maglock on communal door not releasing", [], None),
    ("door entry handset renew", [], None),
    ("renew padlock to bin store", [], None),
    ("Replace lock on meter cupboard", [], None),
    ("boiler room padlock missing, renew", [], None),
    ("change lock on electric cupboard", [], None),
    ("new key to bin store", [], None),
    # heating look-alikes
    ("hot water cylinder leaking, renew", [], None),
    ("Replace immersion heater in cylinder", [], None),
    ("cylinder stat faulty", [], None),
    # keys that are not lost keys
    ("key safe installation at front door", [], None),
    ("fit key safe for carers", [], None),
    ("fob programme - issue new fobs to all flats", [], None),
    # planned programmes
    ("door replacement programme - renew front door", [], None),
    ("Planned works: replace FED with composite", [], None),
    ("window replacement programme block A", [], None),
    ("Decent Homes - renew kitchen, renew internal doors", [], None),
    # faults, not renewals
    ("front door lock stiff, lubricate", [], None),
    ("lock faulty on back door, repair", [], None),
    ("adjust keep on FED so lock engages", [], None),
    ("FED cannot lock - mechanism faulty", [], None),
    ("lock broken on rear door", [], None),
]

VOIDS: list[tuple[str, list[str], str | None]] = [
    ("Void - change locks to all external doors", [L], EXT),
    ("void lock change", [L], UNK),
    ("keys handed in at void, change lock", [L], UNK),
    ("keys handed in at void", [], None),
]

LOCATIONS: list[tuple[str, list[str], str | None]] = [
    ("Renew patio door", [D], EXT),
    ("balcony door kicked in", [D], EXT),
    ("entrance door frame split", [D], EXT),
    ("back door smashed", [D], EXT),
    ("french doors damaged", [D], EXT),
    ("external door damaged", [D], EXT),
    ("WC door kicked in", [D], INT),
    ("toilet door lock renewed", [L], INT),
    ("living room door smashed", [D], INT),
    ("kitchen door damaged", [D], INT),
    ("replace internal door", [D], INT),
]

ALL = [
    *SCHEDULE_OF_RATES,
    *LEAD_MISSES,
    *CALL_CENTRE,
    *TRIAGE_CODES,
    *NEGATIONS,
    *LOOK_ALIKES,
    *VOIDS,
    *LOCATIONS,
]


@pytest.fixture(scope="module")
def result() -> dict[str, tuple[list[str], str | None]]:
    vocab = Vocabulary.from_dict(yaml.safe_load((conf_dir() / "vocabulary.yaml").read_text(encoding="utf-8")))
    texts = [t for t, _, _ in ALL]
    out = classify_texts(pl.Series(texts, dtype=pl.String), None, vocab, {})
    rows = zip(texts, out["categories"].to_list(), out["location"].to_list(), strict=True)
    return {t: (c, loc) for t, c, loc in rows}


def test_corpus_is_well_formed() -> None:
    texts = [t for t, _, _ in ALL]
    assert len(texts) == len(set(texts)), "duplicate phrase"
    assert 150 <= len(texts) <= 250
    for text, cats, loc in ALL:
        assert cats == sorted(cats), text
        assert (loc is None) == (not cats), text


@pytest.mark.parametrize(("text", "expected", "location"), ALL, ids=[t for t, _, _ in ALL])
def test_field_phrase(
    result: dict[str, tuple[list[str], str | None]], text: str, expected: list[str], location: str | None
) -> None:
    cats, loc = result[text]
    assert (cats, loc) == (expected, location)
