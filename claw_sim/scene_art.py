"""Drawing primitives for the simulated driveway: background, vehicles, people, parcels, light."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
Color = tuple[int, int, int]  # BGR

# Layout of the driveway camera, in normalised (x, y) coordinates of the frame.
DOOR = (0.600, 0.240, 0.670, 0.500)  # x0, y0, x1, y1
PORCH_Y = 0.530  # where the door step meets the walkway
STREET_Y = 0.860  # top edge of the street
HOUSE_X = 0.250  # left edge of the house wall
BRANCH_PIVOT = (1.0, 0.05)  # the swaying branch hangs in from the top-right frame edge


def _field(rng: np.random.Generator, h: int, w: int, cell: int) -> npt.NDArray[np.float32]:
    """Smooth random field in about [-1, 1] with features about `cell` pixels across."""
    small = rng.standard_normal((h // cell + 2, w // cell + 2)).astype(np.float32)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) / 2.0, -1.0, 1.0)


def background(size: tuple[int, int], seed: int = 7) -> Frame:
    """The empty driveway: sky, house wall with door and windows, lawn, walkway, driveway, street."""
    w, h = size
    rng = np.random.default_rng(seed)
    base = np.zeros((h, w, 3), np.float32)
    blotch = np.zeros((h, w), np.float32)  # relative amplitude of large-scale variation
    grain = np.zeros((h, w), np.float32)  # amplitude of per-pixel grain

    def px(x: float, y: float) -> tuple[int, int]:
        return round(x * w), round(y * h)

    def rect(x0: float, y0: float, x1: float, y1: float, color: Color, *, blot: float, grn: float) -> None:
        cv2.rectangle(base, px(x0, y0), px(x1, y1), color, -1)
        cv2.rectangle(blotch, px(x0, y0), px(x1, y1), blot, -1)
        cv2.rectangle(grain, px(x0, y0), px(x1, y1), grn, -1)

    rect(0.0, 0.0, 1.0, 0.5, (225, 190, 150), blot=0.04, grn=2.0)  # sky
    rect(0.0, 0.28, HOUSE_X, 0.5, (60, 110, 70), blot=0.25, grn=10.0)  # hedge
    rect(0.0, 0.5, 1.0, STREET_Y, (60, 140, 75), blot=0.22, grn=14.0)  # lawn
    rect(0.70, 0.5, 1.0, STREET_Y, (150, 155, 160), blot=0.10, grn=9.0)  # driveway
    rect(0.585, PORCH_Y, 0.685, STREET_Y, (175, 180, 185), blot=0.08, grn=7.0)  # walkway
    rect(0.0, STREET_Y, 1.0, 1.0, (70, 72, 75), blot=0.10, grn=10.0)  # street
    rect(HOUSE_X, 0.16, 1.0, 0.5, (165, 200, 215), blot=0.06, grn=4.0)  # wall
    roof = np.array([px(HOUSE_X - 0.03, 0.17), px(0.45, 0.04), px(0.85, 0.04), px(1.0, 0.12), px(1.0, 0.17)])
    cv2.fillPoly(base, [roof], (70, 70, 95))
    cv2.fillPoly(grain, [roof], 8.0)
    rect(0.57, PORCH_Y - 0.035, 0.70, PORCH_Y, (185, 190, 195), blot=0.05, grn=6.0)  # door step
    field = _field(rng, h, w, max(4, w // 40))
    img = base * (1.0 + blotch * field)[..., None]
    img += (grain * rng.standard_normal((h, w)).astype(np.float32))[..., None]

    # Siding lines, shingles, windows, door: structure the detector's texture checks can see.
    for y in np.arange(0.175, 0.5, 0.018):
        cv2.line(img, px(HOUSE_X, y), px(1.0, y), (130, 165, 180), max(1, h // 360))
    shingles = np.zeros((h, w), np.uint8)
    for y in np.arange(0.06, 0.17, 0.022):
        cv2.line(shingles, px(0.3, y), px(1.0, y), 255, max(1, h // 360))
    roof_mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(roof_mask, [roof], 255)
    img[(shingles > 0) & (roof_mask > 0)] = (50, 50, 70)
    for x0 in (0.33, 0.77):
        cv2.rectangle(img, px(x0, 0.22), px(x0 + 0.12, 0.38), (240, 240, 240), -1)
        cv2.rectangle(img, px(x0 + 0.008, 0.232), px(x0 + 0.112, 0.368), (95, 80, 70), -1)
        cv2.line(img, px(x0 + 0.06, 0.22), px(x0 + 0.06, 0.38), (240, 240, 240), max(1, w // 400))
    cv2.rectangle(img, px(DOOR[0], DOOR[1]), px(DOOR[2], DOOR[3]), (40, 55, 120), -1)
    for yy in (0.27, 0.39):
        cv2.rectangle(img, px(DOOR[0] + 0.01, yy), px(DOOR[2] - 0.01, yy + 0.08), (30, 45, 100), 2)
    cv2.circle(img, px(DOOR[2] - 0.012, 0.375), max(2, w // 300), (60, 190, 220), -1)
    for x in np.arange(0.0, 1.0, 0.08):  # dashed street marking
        cv2.rectangle(img, px(x, 0.93), px(x + 0.045, 0.94), (200, 230, 235), -1)
    cv2.rectangle(img, px(0.07, 0.28), px(0.1, 0.62), (40, 60, 90), -1)  # tree trunk
    for _ in range(40):  # tree canopy
        cx, cy = rng.uniform(0.0, 0.2), rng.uniform(0.18, 0.34)
        green = (int(rng.integers(30, 60)), int(rng.integers(90, 130)), int(rng.integers(40, 70)))
        cv2.circle(img, px(cx, cy), int(rng.uniform(0.015, 0.03) * w), green, -1)
    for _ in range(w // 3):  # grass blades
        x, y = rng.uniform(0.0, 0.58), rng.uniform(0.52, STREET_Y)
        cv2.line(img, px(x, y), px(x + 0.002, y - 0.012), (40, 115, 55), 1)
    cv2.rectangle(img, px(0.47, 0.70), px(0.485, 0.80), (50, 50, 50), -1)  # mailbox post
    cv2.rectangle(img, px(0.455, 0.67), px(0.50, 0.70), (40, 40, 160), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def draw_car(img: Frame, x_left: float, y_bottom: float, color: Color, facing_left: bool) -> None:
    """A side-on car whose bounding box starts at `x_left` and rests on `y_bottom` (normalised)."""
    h, w = img.shape[:2]
    length = 0.26 * w
    x0, yb = x_left * w, y_bottom * h
    wheel_r = 0.075 * length
    body_top, body_bot = yb - 0.36 * length, yb - wheel_r
    cv2.rectangle(img, (round(x0), round(body_top)), (round(x0 + length), round(body_bot)), color, -1)
    cab = [(0.22, body_top), (0.32, yb - 0.55 * length), (0.70, yb - 0.55 * length), (0.82, body_top)]
    if not facing_left:
        cab = [(1.0 - fx, fy) for fx, fy in cab]
    cv2.fillPoly(img, [np.array([(round(x0 + fx * length), round(fy)) for fx, fy in cab])], color)
    inner = [(fx + (0.03 if fx < 0.5 else -0.03), fy + 0.02 * length) for fx, fy in cab]
    cv2.fillPoly(img, [np.array([(round(x0 + fx * length), round(fy)) for fx, fy in inner])], (90, 70, 60))
    cv2.line(
        img,
        (round(x0 + 0.5 * length), round(body_top)),
        (round(x0 + 0.5 * length), round(yb - 0.53 * length)),
        color,
        max(2, w // 300),
    )
    lamp_front, lamp_back = ((240, 250, 255), (40, 40, 220)) if facing_left else ((40, 40, 220), (240, 250, 255))
    cv2.rectangle(
        img,
        (round(x0), round(body_top + 0.05 * length)),
        (round(x0 + 0.03 * length), round(body_top + 0.1 * length)),
        lamp_front,
        -1,
    )
    cv2.rectangle(
        img,
        (round(x0 + 0.97 * length), round(body_top + 0.05 * length)),
        (round(x0 + length), round(body_top + 0.1 * length)),
        lamp_back,
        -1,
    )
    for fx in (0.2, 0.8):
        centre = (round(x0 + fx * length), round(yb - wheel_r))
        cv2.circle(img, centre, round(wheel_r), (25, 25, 25), -1)
        cv2.circle(img, centre, round(wheel_r * 0.45), (150, 150, 150), -1)


def draw_truck(img: Frame, x_left: float, y_bottom: float) -> None:
    """A brown delivery truck facing right, box with 'PARCEL' lettering, resting on `y_bottom`."""
    h, w = img.shape[:2]
    length = 0.42 * w
    x0, yb = x_left * w, y_bottom * h
    wheel_r = 0.05 * length
    brown, gold = (30, 55, 95), (40, 180, 230)
    box_top = yb - 0.58 * length
    cv2.rectangle(img, (round(x0), round(box_top)), (round(x0 + 0.72 * length), round(yb - wheel_r)), brown, -1)
    cv2.rectangle(
        img,
        (round(x0 + 0.72 * length), round(yb - 0.38 * length)),
        (round(x0 + length), round(yb - wheel_r)),
        brown,
        -1,
    )
    cv2.rectangle(
        img,
        (round(x0 + 0.82 * length), round(yb - 0.34 * length)),
        (round(x0 + 0.97 * length), round(yb - 0.22 * length)),
        (110, 90, 80),
        -1,
    )
    cv2.rectangle(
        img,
        (round(x0), round(yb - 0.16 * length)),
        (round(x0 + 0.72 * length), round(yb - 0.13 * length)),
        gold,
        -1,
    )
    scale = length / 260.0
    cv2.putText(
        img,
        "PARCEL",
        (round(x0 + 0.08 * length), round(box_top + 0.3 * length)),
        cv2.FONT_HERSHEY_DUPLEX,
        scale,
        gold,
        max(1, round(2 * scale)),
        cv2.LINE_AA,
    )
    cv2.putText(
        img,
        "express",
        (round(x0 + 0.18 * length), round(box_top + 0.42 * length)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale * 0.6,
        (220, 220, 220),
        max(1, round(scale)),
        cv2.LINE_AA,
    )
    for fx in (0.15, 0.55, 0.85):
        centre = (round(x0 + fx * length), round(yb - wheel_r))
        cv2.circle(img, centre, round(wheel_r), (20, 20, 20), -1)
        cv2.circle(img, centre, round(wheel_r * 0.45), (140, 140, 140), -1)


def draw_parcel(img: Frame, x_centre: float, y_bottom: float, size: float) -> None:
    """A cardboard box `size` (fraction of frame height) tall, centred on `x_centre`."""
    h, w = img.shape[:2]
    s = size * h
    x0, yb = x_centre * w - 0.6 * s, y_bottom * h
    cv2.rectangle(img, (round(x0), round(yb - s)), (round(x0 + 1.2 * s), round(yb)), (70, 140, 190), -1)
    cv2.rectangle(img, (round(x0 + 0.5 * s), round(yb - s)), (round(x0 + 0.7 * s), round(yb)), (150, 200, 220), -1)
    cv2.rectangle(img, (round(x0), round(yb - s)), (round(x0 + 1.2 * s), round(yb)), (40, 90, 130), max(1, h // 360))


def draw_person(
    img: Frame, x_feet: float, y_feet: float, height: float, *, phase: float, shirt: Color, parcel: bool
) -> None:
    """A walking person `height` (fraction of frame height) tall; `phase` drives the stride."""
    h, w = img.shape[:2]
    ph = height * h
    fx, fy = x_feet * w, y_feet * h
    limb = max(2, round(ph * 0.07))
    swing = math.sin(phase) * 0.18 * ph
    hip = (fx, fy - 0.48 * ph)
    for side in (1.0, -1.0):
        cv2.line(img, (round(hip[0]), round(hip[1])), (round(fx + side * swing), round(fy)), (60, 45, 40), limb)
    cv2.ellipse(img, (round(fx), round(fy - 0.66 * ph)), (round(0.11 * ph), round(0.2 * ph)), 0, 0, 360, shirt, -1)
    shoulder = (fx, fy - 0.8 * ph)
    for side in (1.0, -1.0):
        hand = (fx - side * swing * 0.7, fy - 0.5 * ph) if not parcel else (fx + 0.12 * ph, fy - 0.6 * ph)
        cv2.line(
            img,
            (round(shoulder[0]), round(shoulder[1])),
            (round(hand[0]), round(hand[1])),
            shirt,
            max(2, limb - 1),
        )
    cv2.circle(img, (round(fx), round(fy - 0.92 * ph)), round(0.075 * ph), (120, 150, 200), -1)
    cv2.ellipse(
        img,
        (round(fx), round(fy - 0.97 * ph)),
        (round(0.08 * ph), round(0.04 * ph)),
        0,
        180,
        360,
        (30, 30, 40),
        -1,
    )
    if parcel:
        draw_parcel(img, x_feet + 0.12 * height * h / w, y_feet - 0.45 * height, 0.22 * height)


def draw_branch(img: Frame, angle: float, leaves: npt.NDArray[np.float64]) -> None:
    """A leafy branch hinged at `BRANCH_PIVOT`, pointing `angle` radians from the +x axis (y down)."""
    h, w = img.shape[:2]
    px, py = BRANCH_PIVOT[0] * w, BRANCH_PIVOT[1] * h
    length = 0.3 * w
    ca, sa = math.cos(angle), math.sin(angle)
    tip = (px + ca * length, py + sa * length)
    cv2.line(img, (round(px), round(py)), (round(tip[0]), round(tip[1])), (35, 55, 80), max(3, w // 150))
    for along, across, radius, shade in leaves:
        # Leaves sit along the branch at fixed offsets, so the whole cluster swings as one.
        lx = px + ca * along * length - sa * across * length
        ly = py + sa * along * length + ca * across * length
        cv2.circle(img, (round(lx), round(ly)), max(2, round(radius * w)), (30, round(90 + 60 * shade), 45), -1)


def branch_leaves(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Fixed leaf layout (along, across, radius, shade) for `draw_branch`."""
    n = 28
    return np.column_stack(
        [
            rng.uniform(0.15, 1.0, n),
            rng.uniform(-0.12, 0.12, n),
            rng.uniform(0.012, 0.024, n),
            rng.uniform(0, 1, n),
        ]
    )


def light_cone(
    size: tuple[int, int], apex: tuple[float, float], direction: float, half_width: float
) -> npt.NDArray[np.float32]:
    """Soft headlight beam in [0, 1] from `apex` (normalised, may be off-frame) along `direction` radians."""
    w, h = size
    sw, sh = max(8, w // 8), max(8, h // 8)
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    dx, dy = (xs + 0.5) / sw - apex[0], ((ys + 0.5) / sh - apex[1]) * (h / w)
    off = np.angle(np.exp(1j * (np.arctan2(dy, dx) - direction))).astype(np.float32)
    dist = np.hypot(dx, dy)
    beam = np.clip(1.0 - np.abs(off) / half_width, 0.0, 1.0) ** 0.7 * np.clip(1.3 - dist, 0.0, 1.0)
    beam = cv2.GaussianBlur(beam.astype(np.float32), (5, 5), 0)
    return np.asarray(cv2.resize(beam, (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
