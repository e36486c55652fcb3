"""The change detector against the labelled simulated scenes (substream size, rendered in memory)."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
import pytest

from claw.eyes.detector import ChangeDetector, DetectorSettings, Motion
from claw.eyes.episodes import episodes, overlaps
from claw_sim.scenes import DISTRACTOR_SCENES, EVENT_SCENES, SUBSTREAM, Scene, render

LEAD_IN = 12.0  # seconds of each scene's opening conditions first: a camera that has been running a while
QUIET = 5  # frames of quiet that end an episode
CLEAR_EVENTS = ("car_arrives", "truck_arrives", "person_walks_up", "package_left", "package_picked_up")


def run(
    name: str, settings: DetectorSettings | None = None, *, seed: int = 0, gray: bool = False
) -> tuple[Scene, list[Motion | None]]:
    scene, frames = render(name, size=SUBSTREAM, seed=seed, lead_in=LEAD_IN)
    detector = ChangeDetector(settings or DetectorSettings(), SUBSTREAM)
    out = [detector.detect(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) if gray else f) for f in frames]
    return scene, out


def scored(scene: Scene, motions: Iterable[Motion | None]) -> list[tuple[int, int]]:
    """Episodes that reach past the unscored lead-in."""
    return [e for e in episodes(motions, QUIET) if e[1] >= scene.lead_in_frames]


@pytest.mark.parametrize("name", EVENT_SCENES)
def test_real_event_is_reported_promptly(name: str) -> None:
    scene, motions = run(name)
    (first, last), *_ = scene.event_frames
    found = scored(scene, motions)
    assert any(overlaps(e, [(first, last)]) for e in found), f"{name}: no motion in {first}..{last}: {found}"
    reported = next(i for i, m in enumerate(motions) if i >= first and m is not None and not m.calibrating)
    # Persistence costs persistence_frames - 1 frames; bad weather or darkness a few more.
    budget = DetectorSettings().persistence_frames + (1 if name in CLEAR_EVENTS else 7)
    assert reported - first <= budget, f"{name}: first report {reported - first} frames after the object appeared"
    stray = [e for e in found if not overlaps(e, scene.event_frames)]
    assert stray == [], f"{name}: episodes outside the labelled event {scene.event_frames}: {stray}"


@pytest.mark.parametrize("name", DISTRACTOR_SCENES)
def test_distractor_raises_no_event(name: str) -> None:
    scene, motions = run(name)
    assert scored(scene, motions) == []


@pytest.mark.parametrize("name", ["noise", "rain", "snow", "swaying_branches", "dusk_fade", "headlight_sweep"])
def test_weather_and_light_do_not_blind_the_detector(name: str) -> None:
    # No false events must not come from re-calibrating (reporting nothing) all the time.
    scene, frames = render(name, size=SUBSTREAM, lead_in=LEAD_IN)
    detector = ChangeDetector(DetectorSettings(), SUBSTREAM)
    blind = 0
    for i, frame in enumerate(frames):
        detector.detect(frame)
        blind += int(i >= scene.lead_in_frames and detector.calibrating)
    assert blind == 0


@pytest.mark.parametrize("name", ["rain", "swaying_branches", "headlight_sweep", "dusk_fade", "lightning"])
def test_published_detector_is_fooled_by_the_same_scenes(name: str) -> None:
    # Shows the distractors are hard: the plain published algorithm raises events on them.
    scene, motions = run(name, DetectorSettings.published())
    assert scored(scene, motions) != []


def test_ir_switch_sends_one_recalibration_notice_that_is_not_an_event() -> None:
    scene, motions = run("ir_switch")
    notices = [i for i, m in enumerate(motions) if m is not None and m.calibrating]
    assert len(notices) == 1 and notices[0] >= scene.lead_in_frames
    assert scored(scene, motions) == []


def test_mask_suppresses_changes_inside_it() -> None:
    right_half = ((0.45, 0.0), (1.0, 0.0), (1.0, 1.0), (0.45, 1.0))
    left_strip = ((0.0, 0.0), (0.2, 0.0), (0.2, 1.0), (0.0, 1.0))
    _, masked = run("car_arrives", DetectorSettings(mask=(right_half,)))
    _, elsewhere = run("car_arrives", DetectorSettings(mask=(left_strip,)))
    assert all(m is None or m.calibrating for m in masked)
    assert any(m is not None and not m.calibrating for m in elsewhere)


def test_zones_touched_are_reported() -> None:
    zones = {
        "street": ((0.0, 0.86), (1.0, 0.86), (1.0, 1.0), (0.0, 1.0)),
        "front_door": ((0.58, 0.2), (0.69, 0.2), (0.69, 0.56), (0.58, 0.56)),
    }
    settings = DetectorSettings(zones=zones)
    _, car = run("car_arrives", settings)
    _, person = run("person_walks_up", settings)
    car_zones = set().union(*(m.zones for m in car if m is not None))
    person_zones = set().union(*(m.zones for m in person if m is not None))
    assert car_zones == {"street"}
    assert "front_door" in person_zones


def test_boxes_are_in_source_pixels_and_grey_frames_work() -> None:
    _, motions = run("car_arrives", gray=True)
    w, h = SUBSTREAM
    reported = [m for m in motions if m is not None and not m.calibrating]
    assert reported
    for m in reported:
        assert 0.0 < m.area_fraction < 1.0 and 0.0 <= m.score <= 1.0
        for x, y, bw, bh in m.boxes:
            assert x >= 0 and y >= 0 and x + bw <= w and y + bh <= h
    # When most of it is in view, the car is on the street near the bottom of the frame, on the right.
    fullest = max(reported, key=lambda m: m.area_fraction)
    x, y, bw, bh = max(fullest.boxes, key=lambda b: b[2] * b[3])
    assert y + bh > 0.85 * h and x + bw > 0.5 * w


def test_parked_car_is_blended_into_the_background() -> None:
    scene, motions = run("car_arrives")
    (_, last), *_ = scene.event_frames
    settings = DetectorSettings()
    tail = motions[last + settings.blend_after_frames + 3 :]
    assert tail and all(m is None for m in tail)


def test_night_profile_is_used_after_set_night() -> None:
    everywhere = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    settings = DetectorSettings(night=DetectorSettings(mask=(everywhere,)))
    scene, frames = render("car_arrives", size=SUBSTREAM, lead_in=LEAD_IN)
    frames = list(frames)
    day, night = ChangeDetector(settings, SUBSTREAM), ChangeDetector(settings, SUBSTREAM)
    results = {"day": [], "night": []}
    for i, frame in enumerate(frames):
        if i == scene.lead_in_frames:
            night.set_night(True)
            assert night.calibrating and night.settings is settings.night
        results["day"].append(day.detect(frame))
        results["night"].append(night.detect(frame))
    assert scored(scene, results["day"])
    assert scored(scene, results["night"]) == []
    night.set_night(False)
    assert night.settings is settings


def test_frame_size_change_restarts_cleanly() -> None:
    detector = ChangeDetector(DetectorSettings(), SUBSTREAM)
    _, frames = render("quiet", size=(320, 180))
    assert all(detector.detect(f) is None for f in frames)


@pytest.mark.parametrize(
    "changes",
    [
        {"threshold": 0},
        {"height": 4},
        {"frame_alpha": 0.0},
        {"persistence_frames": 0},
        {"interpolation": "cubic"},
        {"mask": (((0.0, 0.0), (1.5, 0.0), (1.0, 1.0)),)},
        {"zones": {"door": ((0.0, 0.0), (1.0, 1.0))}},
        {"night": DetectorSettings(night=DetectorSettings())},
    ],
)
def test_bad_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="detector settings"):
        DetectorSettings(**changes)  # type: ignore[arg-type]


def test_published_settings_switch_every_extension_off() -> None:
    plain = DetectorSettings.published()
    assert plain.persistence_frames == 1 and plain.clutter_blobs == 0 and plain.warmup_frames == 0
    assert not (plain.normalise_brightness or plain.selective_update or plain.flicker_suppression)
    assert not plain.illumination_check


def test_episodes_group_motion_split_by_quiet_frames_and_skip_notices() -> None:
    hit = Motion(((0, 0, 1, 1),), 0.1, frozenset(), 0.5)
    notice = Motion((), 0.9, frozenset(), 0.0, calibrating=True)
    seq = [None, hit, hit, None, hit, None, None, None, hit, notice, notice, None]
    assert episodes(seq, quiet_frames=1) == [(1, 4), (8, 8)]
    assert episodes(seq, quiet_frames=3) == [(1, 8)]
    assert episodes([notice, None], quiet_frames=0) == []
    assert overlaps((3, 5), [(5, 9)]) and not overlaps((3, 4), [(5, 9)])


def test_frames_must_be_uint8_images() -> None:
    detector = ChangeDetector(DetectorSettings(), SUBSTREAM)
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((360, 640, 3), np.float32))  # type: ignore[arg-type]
