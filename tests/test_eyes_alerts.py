"""The alert policy: kill switch, nothing notable, arming by mode, snooze, quiet hours, cooldowns; its saved state."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from claw.core.config import AlertsConfig, CameraConfig, parse
from claw.core.errors import ConfigError
from claw.eyes.alerts import Rules, moment
from claw.eyes.description import Description, fallback

TZ = ZoneInfo("Europe/London")
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=TZ).timestamp()
PERSON = Description("Person at the door", "Someone knocked.", True, "person")
CAR = Description("Car pulled up", "A car parked.", True, "vehicle")
DRIVE = CameraConfig("driveway", "rtsp://127.0.0.1/a", cooldown=120.0)
GARDEN = CameraConfig("garden", "rtsp://127.0.0.1/b", cooldown=60.0, armed_modes=("away", "night"))


def rules(**alerts: object) -> Rules:
    return Rules(AlertsConfig(**alerts), TZ)  # type: ignore[arg-type]


def test_cooldowns_per_camera_and_across_cameras() -> None:
    r = rules(global_cooldown=30.0)
    r.set_mode("away", NOON)
    assert r.decide(DRIVE, CAR, NOON, paused=False).send
    r.sent("driveway", NOON)
    assert r.decide(DRIVE, CAR, NOON + 100, paused=False).reason.startswith("cooldown (120 s")
    assert r.decide(GARDEN, PERSON, NOON + 10, paused=False).reason.startswith("cooldown (30 s after any")
    assert r.decide(GARDEN, PERSON, NOON + 31, paused=False).send
    assert r.decide(DRIVE, CAR, NOON + 121, paused=False).send


def test_nothing_notable_and_the_kill_switch_hold_an_alert_back() -> None:
    r = rules()
    assert r.decide(DRIVE, Description("Rain", "Rain fell.", False, "nothing"), NOON, paused=False).reason == (
        "nothing notable"
    )
    assert not r.decide(DRIVE, Description("Leaves", "", True, "nothing"), NOON, paused=False).send
    assert "kill switch" in r.decide(DRIVE, PERSON, NOON, paused=True).reason
    assert r.decide(DRIVE, fallback("driveway"), NOON, paused=False).send  # the model down: still told


def test_arming_by_mode() -> None:
    r = rules(mode="home")
    assert r.decide(GARDEN, PERSON, NOON, paused=False).reason == "not armed in home mode"
    r.set_mode("night", NOON)
    assert r.decide(GARDEN, PERSON, NOON, paused=False).send


def test_snooze_until_a_time() -> None:
    r = rules()
    r.mute("driveway", NOON + 3600)
    assert r.decide(DRIVE, PERSON, NOON, paused=False).reason == "muted until 13:00"
    assert r.decide(DRIVE, PERSON, NOON + 3601, paused=False).send
    r.mute("driveway", NOON + 3600)
    r.mute("driveway", None)
    assert r.decide(DRIVE, PERSON, NOON, paused=False).send


def test_quiet_hours_only_let_people_through() -> None:
    r = rules(quiet_hours="22:30-07:00")
    night = datetime(2026, 6, 1, 23, 15, tzinfo=TZ).timestamp()
    assert r.decide(DRIVE, CAR, night, paused=False).reason == "quiet hours"
    assert r.decide(DRIVE, PERSON, night, paused=False).send
    assert r.decide(DRIVE, CAR, NOON, paused=False).send


def test_moments_say_the_day_when_it_is_not_today() -> None:
    assert moment(NOON - 3600, TZ, NOON) == "11:00"
    assert moment(NOON - 18 * 3600, TZ, NOON) == "yesterday 18:00"
    assert moment(NOON - 3 * 86400, TZ, NOON) == "Fri 29 May 12:00"


def test_state_survives_a_restart_and_tells_when_i_was_out() -> None:
    r = rules()
    r.set_mode("away", NOON)
    r.mute("garden", NOON + 600)
    assert r.out_window(NOON + 100) == (NOON, None)
    r.set_mode("home", NOON + 7200)
    assert r.out_window(NOON + 7300) == (NOON, NOON + 7200)
    again = rules()
    again.restore(r.state(), NOON + 7300)
    assert again.mode == "home" and again.muted == {} and again.out_window(NOON + 7300) == (NOON, NOON + 7200)
    again.restore(r.state(), NOON + 100)
    assert again.muted == {"garden": NOON + 600}
    broken = rules(mode="night")
    broken.restore({"eyes.mode": "party", "eyes.muted": "{not json"}, NOON)
    assert broken.mode == "night" and broken.muted == {}
    assert rules().out_window(NOON) is None  # never away: the chat falls back to the last 12 hours and says so


def test_a_mode_switched_back_within_minutes_is_no_time_away() -> None:
    r = rules()
    r.set_mode("away", NOON)
    assert r.out_window(NOON + 10) == (NOON, None)  # still away: since we left, however recently
    r.set_mode("home", NOON + 30)
    assert r.out_window(NOON + 60) is None  # "we're away" then "we're back" at once: nothing to go by
    r.set_mode("away", NOON + 100)
    r.set_mode("home", NOON + 100 + 300)
    assert r.out_window(NOON + 500) == (NOON + 100, NOON + 400)
    assert r.out_window(NOON + 400 + 24 * 3600) is None  # an outing more than a day ago is not "while I was out"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"alerts": {"quiet_hours": "late"}}, "alerts.quiet_hours"),
        ({"alerts": {"min_motion_frames": 0}}, "alerts.min_motion_frames"),
        ({"cameras": [{"name": "a", "url": "x", "armed_modes": ["party"]}]}, "cameras[0].armed_modes"),
        ({"cameras": [{"name": "a", "url": "x", "mask": [[[0, 0], [2, 0], [0, 1]]]}]}, "cameras[0].mask"),
        ({"cameras": [{"name": "a", "url": "x", "fps": 0}]}, "cameras[0].fps"),
    ],
)
def test_bad_camera_and_alert_settings_name_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data, "claw.toml")
    assert key in str(caught.value)
