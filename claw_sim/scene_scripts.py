"""Scene recipes for the simulated driveway: how each event or distractor is drawn and labelled."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from claw_sim import scene_art as art
from claw_sim.scene_art import Frame

_ASPECT = 16 / 9  # geometry and speeds are defined for a 16:9 frame whatever the pixel size

Drawer = Callable[[Frame], None]
Script = Callable[[float], tuple[list[Drawer], tuple[float, ...]]]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a scene builder returns: labels, a clean frame for index i, and the sensor noise level."""

    event_frames: tuple[tuple[int, int], ...]
    draw: Callable[[int], Frame]
    noise: float = 2.5
    rest: Frame | None = None  # what the camera shows after the scene (held in playlist gaps)


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a scene builder gets: frame size, fps, frame count, its seeded generator, the background."""

    size: tuple[int, int]
    fps: float
    frames: int
    rng: np.random.Generator
    bg: Frame


@dataclass(frozen=True, slots=True)
class SceneSpec:
    """A named scene recipe: event or distractor, ground-truth label, length in seconds."""

    kind: Literal["event", "distractor"]
    label: str
    seconds: float
    build: Callable[[Ctx], Plan]
    reverse_name: str | None = None  # a playlist follows it with its reversal (the car leaves again)


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _event_plan(ctx: Ctx, script: Script, settle_s: float = 0.6, merge_s: float = 2.5) -> Plan:
    """Labels = frames where a scripted object is visible and moving (+ settle), gaps merged."""
    probe = np.zeros((90, 160, 3), np.uint8)
    active: list[int] = []
    last_state: tuple[float, ...] | None = None
    for i in range(ctx.frames):
        drawers, state = script(i / ctx.fps)
        probe[:] = 0
        for d in drawers:
            d(probe)
        if probe.any() and last_state is not None and state != last_state:
            active.append(i)
        last_state = state
    ranges: list[tuple[int, int]] = []
    settle, merge = round(settle_s * ctx.fps), round(merge_s * ctx.fps)
    for i in active:
        if ranges and i - ranges[-1][1] <= merge:
            ranges[-1] = (ranges[-1][0], i)
        else:
            ranges.append((i, i))
    labelled = tuple((a, min(ctx.frames - 1, b + settle)) for a, b in ranges)

    def draw(i: int) -> Frame:
        frame = ctx.bg.copy()
        for d in script(i / ctx.fps)[0]:
            d(frame)
        return frame

    return Plan(labelled, draw)


def _walk(points: list[tuple[float, float]], speed: float, t: float) -> tuple[float, float, float]:
    """Position (x, y) along a polyline after walking `t` s at `speed` frame heights/s; and distance."""
    dist = max(0.0, t) * speed
    left = dist
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        seg = math.hypot((x1 - x0) * _ASPECT, y1 - y0)
        if left <= seg:
            f = left / seg
            return x0 + (x1 - x0) * f, y0 + (y1 - y0) * f, dist
        left -= seg
    return points[-1][0], points[-1][1], dist - left


def _path_seconds(points: list[tuple[float, float]], speed: float) -> float:
    return sum(math.hypot((b[0] - a[0]) * _ASPECT, b[1] - a[1]) for a, b in itertools.pairwise(points)) / speed


def _person_height(y_feet: float) -> float:
    # Perspective: people near the door are further away and look smaller.
    return 0.19 + (y_feet - art.PORCH_Y) / (0.97 - art.PORCH_Y) * 0.08


_DOOR_X = (art.DOOR[0] + art.DOOR[2]) / 2
_PATH_IN = [(1.06, 0.97), (_DOOR_X, 0.95), (_DOOR_X, art.PORCH_Y + 0.005)]
_SHIRTS: tuple[art.Color, ...] = ((200, 80, 50), (40, 40, 180), (60, 160, 60), (30, 30, 30), (190, 190, 190))
_CARS: tuple[art.Color, ...] = ((40, 40, 200), (200, 200, 200), (160, 90, 30), (30, 30, 30), (40, 150, 200))


def _person(x: float, y: float, dist: float, shirt: art.Color, parcel: bool) -> Drawer:
    phase = dist / 0.12 * math.pi
    return lambda f: art.draw_person(f, x, y, _person_height(y), phase=phase, shirt=shirt, parcel=parcel)


def _parcel_at_door() -> Drawer:
    return lambda f: art.draw_parcel(f, _DOOR_X + 0.03, art.PORCH_Y, 0.045)


def _car_arrives(ctx: Ctx) -> Plan:
    rng = ctx.rng
    color = _CARS[int(rng.integers(len(_CARS)))]
    t0, dur, x_end = 2.5 + rng.uniform(0, 1), rng.uniform(3.5, 4.5), rng.uniform(0.55, 0.68)

    def script(t: float) -> tuple[list[Drawer], tuple[float, ...]]:
        p = 1 - (1 - min(1.0, max(0.0, (t - t0) / dur))) ** 2  # decelerates to a stop
        x = 1.02 + (x_end - 1.02) * p
        return [lambda f: art.draw_car(f, x, 0.975, color, True)], (round(x, 5),)

    return _event_plan(ctx, script)


def _truck_path(rng: np.random.Generator) -> Callable[[float], float]:
    """Left edge of the truck at time t: drives in from the left and brakes to a stop."""
    t0, dur, x_end = 2.5 + rng.uniform(0, 1), rng.uniform(4.5, 5.5), rng.uniform(0.22, 0.34)
    return lambda t: -0.44 + (x_end + 0.44) * (1 - (1 - min(1.0, max(0.0, (t - t0) / dur))) ** 2)


def _truck_script(x_of: Callable[[float], float]) -> Script:
    def script(t: float) -> tuple[list[Drawer], tuple[float, ...]]:
        x = x_of(t)
        return [lambda f: art.draw_truck(f, x, 0.985)], (round(x, 5),)

    return script


def _truck_arrives(ctx: Ctx) -> Plan:
    return _event_plan(ctx, _truck_script(_truck_path(ctx.rng)))


def _person_walks_up(ctx: Ctx) -> Plan:
    rng = ctx.rng
    shirt = _SHIRTS[int(rng.integers(len(_SHIRTS)))]
    t0, speed = 2.5 + rng.uniform(0, 1), rng.uniform(0.2, 0.26)

    def script(t: float) -> tuple[list[Drawer], tuple[float, ...]]:
        x, y, dist = _walk(_PATH_IN, speed, t - t0)
        return [_person(x, y, dist, shirt, False)], (round(x, 5), round(y, 5))

    return _event_plan(ctx, script, settle_s=1.0)


def _package_scene(ctx: Ctx, *, leave: bool) -> Plan:
    rng = ctx.rng
    shirt = _SHIRTS[int(rng.integers(len(_SHIRTS)))]
    t0, speed = 2.0 + rng.uniform(0, 1), rng.uniform(0.22, 0.27)
    t_door = t0 + _path_seconds(_PATH_IN, speed)
    t_hand, t_back = t_door + 0.6, t_door + 1.4
    path_out = list(reversed(_PATH_IN))

    def script(t: float) -> tuple[list[Drawer], tuple[float, ...]]:
        holding = t < t_hand if leave else t >= t_hand
        if t < t_back:
            x, y, dist = _walk(_PATH_IN, speed, t - t0)
        else:
            x, y, dist = _walk(path_out, speed, t - t_back)
        drawers = [_person(x, y, dist, shirt, holding)]
        on_porch = (t >= t_hand) if leave else (t < t_hand)
        if on_porch:
            drawers.insert(0, _parcel_at_door())
        return drawers, (round(x, 5), round(y, 5), float(holding))

    return _event_plan(ctx, script)


def _lit(ctx: Ctx, gain: tuple[float, float, float], grey: bool = False) -> Frame:
    """The background under other light: per-channel BGR gain, optionally as an IR grey image."""
    if grey:
        # Under IR, foliage is bright and everything is grey; the illuminator lights the centre most.
        m = np.array([[0.12, 0.7, 0.3]] * 3, np.float32) * np.array(gain, np.float32)[:, None]
        w, h = ctx.size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        falloff = 1.15 - 0.5 * (((xs / w - 0.5) ** 2 + (ys / h - 0.55) ** 2) / 0.5)
        out = np.asarray(cv2.transform(ctx.bg, m), np.float32) * falloff[..., None]
        return _to_u8(out)
    return _tint(ctx.bg, gain)


def _to_u8(img: npt.NDArray[np.float32]) -> Frame:
    return np.asarray(np.clip(img, 0, 255), dtype=np.uint8)


def _tint(img: Frame, gain: tuple[float, float, float]) -> Frame:
    """Per-channel BGR gain with saturation."""
    return np.asarray(cv2.transform(img, np.diag(np.array(gain, np.float32))), dtype=np.uint8)


def _static(ctx: Ctx, noise: float, frame: Frame | None = None) -> Plan:
    still = ctx.bg if frame is None else frame
    return Plan((), lambda i: still.copy(), noise)


Layer = Callable[[Frame, int], Frame]  # weather or light laid over frame i of a scene
_OVERCAST, _SNOWY, _NIGHT = (0.8, 0.8, 0.78), (0.85, 0.85, 0.85), (0.3, 0.24, 0.22)


def _rain_layer(ctx: Ctx) -> Layer:
    (w, h), rng = ctx.size, ctx.rng
    count = int(450 * w * h / (1280 * 720))

    def lay(frame: Frame, i: int) -> Frame:
        streaks = np.zeros((h, w, 3), np.uint8)
        xs, ys = rng.uniform(0, w, count), rng.uniform(-0.05 * h, h, count)
        lengths, tilt = rng.uniform(0.02, 0.05, count) * h, 0.18
        levels = rng.uniform(35, 80, count)
        for x, y, ln, lv in zip(xs, ys, lengths, levels, strict=True):
            cv2.line(streaks, (int(x), int(y)), (int(x + tilt * ln), int(y + ln)), (lv, lv, lv), 1, cv2.LINE_AA)
        return np.asarray(cv2.add(_tint(frame, _OVERCAST), streaks), dtype=np.uint8)

    return lay


def _snow_layer(ctx: Ctx) -> Layer:
    (w, h), rng = ctx.size, ctx.rng
    count = int(500 * w * h / (1280 * 720))
    near = rng.uniform(0, 1, count)  # nearer flakes are bigger and fall faster
    xs, ys = rng.uniform(0, 1, count), rng.uniform(0, 1, count)
    speed, radius = (0.08 + 0.22 * near) / ctx.fps, (1.0 + 2.5 * near) * h / 720
    phase = rng.uniform(0, 2 * math.pi, count)

    def lay(frame: Frame, i: int) -> Frame:
        frame = _tint(frame, _SNOWY)
        fy = (ys + speed * i) % 1.0
        fx = (xs + 0.012 * np.sin(phase + 0.9 * i / ctx.fps)) % 1.0
        for x, y, r in zip(fx, fy, radius, strict=True):
            cv2.circle(frame, (int(x * w), int(y * h)), max(1, round(r)), (245, 245, 245), -1, cv2.LINE_AA)
        return frame

    return lay


def _branch_layer(ctx: Ctx) -> Layer:
    rng = ctx.rng
    leaves = art.branch_leaves(rng)
    freq, amp, phase = rng.uniform(0.5, 0.9), rng.uniform(0.12, 0.18), rng.uniform(0, 2 * math.pi)

    def lay(frame: Frame, i: int) -> Frame:
        t = i / ctx.fps
        gust = 0.75 + 0.25 * math.sin(0.4 * t + phase)
        swing = math.sin(2 * math.pi * freq * t + phase) + 0.3 * math.sin(4.6 * math.pi * freq * t)
        art.draw_branch(frame, 2.6 + amp * gust * swing, leaves)
        return frame

    return lay


def _weather(
    layer: Callable[[Ctx], Layer], noise: float, rest: tuple[float, float, float] | None
) -> Callable[[Ctx], Plan]:
    """A distractor: the empty driveway under `layer`."""

    def build(ctx: Ctx) -> Plan:
        lay = layer(ctx)
        return Plan((), lambda i: lay(ctx.bg.copy(), i), noise, None if rest is None else _tint(ctx.bg, rest))

    return build


def _during(event: Callable[[Ctx], Plan], layer: Callable[[Ctx], Layer], noise: float) -> Callable[[Ctx], Plan]:
    """A real event that happens under `layer` (in the rain, in the snow, by the swaying branch)."""

    def build(ctx: Ctx) -> Plan:
        plan, lay = event(ctx), layer(ctx)
        return Plan(plan.event_frames, lambda i: lay(plan.draw(i), i), noise)

    return build


def _truck_at_night(ctx: Ctx) -> Plan:
    """The delivery truck arrives in the dark, its headlights lighting the street ahead of it."""
    x_of = _truck_path(ctx.rng)
    plan = _event_plan(ctx, _truck_script(x_of))

    def draw(i: int) -> Frame:
        dark = _tint(plan.draw(i), _NIGHT).astype(np.float32)
        beam = art.light_cone(ctx.size, (x_of(i / ctx.fps) + 0.42, 0.92), -0.06, 0.2)[..., None]
        return _to_u8(dark * (1.0 + 2.5 * beam) + 30.0 * beam)

    return Plan(plan.event_frames, draw, 4.0)


def _ir_switch(ctx: Ctx) -> Plan:
    dusk, ir = _lit(ctx, (0.42, 0.33, 0.3)), _lit(ctx, (0.9, 0.9, 0.9), grey=True)
    switch = round(ctx.frames * ctx.rng.uniform(0.35, 0.55))
    return Plan((), lambda i: (dusk if i < switch else ir).copy(), 4.0)


def _dusk_fade(ctx: Ctx) -> Plan:
    def draw(i: int) -> Frame:
        level = 1.0 - 0.65 * _smoothstep(i / max(1, ctx.frames - 1))
        return _tint(ctx.bg, (level * 1.02, level * 0.97, level * 0.93))

    return Plan((), draw, 3.0)


def _headlight_sweep(ctx: Ctx) -> Plan:
    night, rng = _lit(ctx, _NIGHT), ctx.rng
    sweeps = [
        (1.5 + rng.uniform(0, 1.5), rng.uniform(1.5, 2.5), False),
        (7.0 + rng.uniform(0, 1.5), rng.uniform(1.5, 2.5), True),
    ]
    nightf = night.astype(np.float32)

    def draw(i: int) -> Frame:
        t = i / ctx.fps
        for start, dur, from_right in sweeps:
            p = (t - start) / dur
            if 0.0 <= p <= 1.0:
                turn = -0.05 - 0.75 * _smoothstep(p)
                apex, direction = ((1.1, 1.05), math.pi - turn) if from_right else ((-0.1, 1.05), turn)
                beam = art.light_cone(ctx.size, apex, direction, 0.22)[..., None]
                return _to_u8(nightf * (1.0 + 3.0 * beam) + 35.0 * beam)
        return night.copy()

    return Plan((), draw, 4.0, rest=night)


def _auto_exposure(ctx: Ctx) -> Plan:
    rng = ctx.rng
    steps = [(round(ctx.frames * rng.uniform(0.25, 0.4)), 1.4), (round(ctx.frames * rng.uniform(0.6, 0.75)), 0.75)]

    def draw(i: int) -> Frame:
        gain = 1.0
        for at, target in steps:
            if i >= at:
                # The camera overshoots and settles within a couple of frames.
                gain = target * (1.0 + 0.12 * math.exp(-(i - at)) * (1 if target > gain else -1))
        return np.asarray(cv2.convertScaleAbs(ctx.bg, alpha=gain), dtype=np.uint8)

    return Plan((), draw, 2.5)


def _lightning(ctx: Ctx) -> Plan:
    night, rng = _lit(ctx, (0.32, 0.28, 0.27)), ctx.rng
    flashes = {round(ctx.frames * rng.uniform(0.2, 0.4)), round(ctx.frames * rng.uniform(0.6, 0.8))}
    flashes |= {f + 2 for f in flashes}  # lightning flickers: a second, weaker stroke

    def draw(i: int) -> Frame:
        if i in flashes:
            strength = 3.0 if i - 2 not in flashes else 2.0
            return np.asarray(cv2.convertScaleAbs(night, alpha=strength, beta=60), dtype=np.uint8)
        return night.copy()

    return Plan((), draw, 4.0, rest=night)


SCENES: Mapping[str, SceneSpec] = MappingProxyType(
    {
        "car_arrives": SceneSpec("event", "vehicle", 12.0, _car_arrives, "car_leaves"),
        "truck_arrives": SceneSpec("event", "delivery", 13.0, _truck_arrives, "truck_leaves"),
        "person_walks_up": SceneSpec("event", "person", 13.0, _person_walks_up, "person_walks_away"),
        "package_left": SceneSpec("event", "delivery", 15.0, lambda c: _package_scene(c, leave=True)),
        "package_picked_up": SceneSpec("event", "person", 15.0, lambda c: _package_scene(c, leave=False)),
        # Real events under the distractors' conditions: the fixes must not cost recall.
        "person_in_rain": SceneSpec("event", "person", 13.0, _during(_person_walks_up, _rain_layer, 3.0)),
        "car_in_snow": SceneSpec("event", "vehicle", 12.0, _during(_car_arrives, _snow_layer, 3.0)),
        "person_by_branches": SceneSpec("event", "person", 13.0, _during(_person_walks_up, _branch_layer, 2.5)),
        "truck_at_night": SceneSpec("event", "delivery", 13.0, _truck_at_night),
        "quiet": SceneSpec("distractor", "nothing", 10.0, lambda c: _static(c, 2.5)),
        "noise": SceneSpec("distractor", "nothing", 12.0, lambda c: _static(c, 11.0)),
        "rain": SceneSpec("distractor", "nothing", 12.0, _weather(_rain_layer, 3.0, _OVERCAST)),
        "snow": SceneSpec("distractor", "nothing", 12.0, _weather(_snow_layer, 3.0, _SNOWY)),
        "swaying_branches": SceneSpec("distractor", "nothing", 12.0, _weather(_branch_layer, 2.5, None)),
        "ir_switch": SceneSpec("distractor", "nothing", 12.0, _ir_switch),
        "dusk_fade": SceneSpec("distractor", "nothing", 12.0, _dusk_fade),
        "headlight_sweep": SceneSpec("distractor", "nothing", 12.0, _headlight_sweep),
        "auto_exposure": SceneSpec("distractor", "nothing", 12.0, _auto_exposure),
        "lightning": SceneSpec("distractor", "nothing", 12.0, _lightning),
    }
)
EVENT_SCENES = tuple(n for n, s in SCENES.items() if s.kind == "event")
DISTRACTOR_SCENES = tuple(n for n, s in SCENES.items() if s.kind == "distractor" and n != "quiet")
