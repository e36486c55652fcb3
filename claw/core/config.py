"""TOML config -> frozen dataclasses; every mistake names the file, the key and the fix."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from claw.core.errors import ConfigError
from claw.core.typed import ShapeError, build


@dataclass(frozen=True, slots=True)
class LLMConfig:
    host: str = "http://127.0.0.1:11434"
    model: str = "qwen3:8b"
    vision_model: str = "qwen2.5vl:3b"
    num_ctx: int = 8192
    keep_alive: str = "30m"
    timeout: float = 120.0  # seconds for one model call
    max_rounds: int = 6  # tool-loop rounds per turn
    max_concurrent: int = 1  # model calls in flight at once (one GPU)
    tool_result_chars: int = 4000  # longer tool results are cut before going back to the model

    def __post_init__(self) -> None:
        if not self.host.startswith(("http://", "https://")):
            raise ValueError("host: must start with http:// or https://")
        if self.max_rounds < 1 or self.max_concurrent < 1:
            raise ValueError("max_rounds: must be at least 1")


@dataclass(frozen=True, slots=True)
class MemoryConfig:
    budget_tokens: int = 6000  # whole prompt, tools included; keep below [llm] num_ctx
    facts_share: float = 0.15  # of the budget, for curated facts
    summary_tokens: int = 600
    keep_recent_share: float = 0.5  # of the history budget kept verbatim after compaction

    def __post_init__(self) -> None:
        if self.budget_tokens < 1000:
            raise ValueError("budget_tokens: must be at least 1000")


@dataclass(frozen=True, slots=True)
class PrivateConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    token_required: bool = False  # always on when host is not loopback


@dataclass(frozen=True, slots=True)
class PublicConfig:
    host: str = "127.0.0.1"
    port: int = 8766


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    number: str  # E.164, e.g. "+15551234567"

    def __post_init__(self) -> None:
        if not self.number.startswith("+") or not self.number[1:].isdigit():
            raise ValueError("number: must be E.164 like +15551234567")


@dataclass(frozen=True, slots=True)
class WhatsAppConfig:
    enabled: bool = False
    api_base: str = ""  # empty: the real https://api.twilio.com
    public_url: str = ""  # what Twilio calls, e.g. https://claw.example.org; empty: no media out
    sender: str = ""  # the WhatsApp sender, e.g. "whatsapp:+14155238886"
    template_sid: str = ""  # approved template for messages outside the 24 h window
    window_hours: float = 24.0
    media_ttl: float = 600.0
    send_timeout: float = 10.0
    voice_transcription: bool = False
    retry_base: float = 1.0  # seconds before the first resend; doubles each time, with jitter
    retry_max_delay: float = 10.0  # the longest wait between two attempts (also after an outage ends)
    give_up_hours: float = 24.0  # a message still unsent after this long is dead-lettered

    def __post_init__(self) -> None:
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("public_url: must start with https:// (e.g. https://claw.example.org)")
        if self.sender and not self.sender.startswith("whatsapp:+"):
            raise ValueError('sender: must look like "whatsapp:+14155238886"')
        if self.template_sid and not (self.template_sid.startswith("HX") and len(self.template_sid) == 34):
            raise ValueError("template_sid: must be a Content SID like HX followed by 32 hex digits")
        if not 0 < self.window_hours <= 24:
            raise ValueError("window_hours: must be more than 0 and at most 24")
        if min(self.media_ttl, self.send_timeout, self.retry_base, self.retry_max_delay, self.give_up_hours) <= 0:
            raise ValueError("media_ttl: it, send_timeout, retry_base, retry_max_delay and give_up_hours must be > 0")


@dataclass(frozen=True, slots=True)
class DeviceOverride:
    id: str
    name: str = ""
    room: str = ""
    aliases: tuple[str, ...] = ()
    ignore: bool = False
    controllable: bool | None = None  # true: the owner's yes for a lock/alarm/garage, given in advance


@dataclass(frozen=True, slots=True)
class StaticDevice:
    host: str  # "192.168.1.40" or "192.168.1.40:8080"
    skill: str
    name: str = ""
    room: str = ""


@dataclass(frozen=True, slots=True)
class RoomConfig:
    name: str
    aliases: tuple[str, ...] = ()
    floor: str = ""


@dataclass(frozen=True, slots=True)
class HomeConfig:
    discovery: bool = True
    interfaces: tuple[str, ...] = ()  # empty: every interface; the demo uses ["127.0.0.1"]
    subnets: tuple[str, ...] = ()  # CIDRs whose devices are accepted, e.g. an IoT VLAN; empty: any
    ssdp_interval: float = 300.0
    ssdp_port: int = 1900
    device_timeout: float = 3.0
    poll_interval: float = 30.0
    new_devices: Literal["controllable", "ask", "ignore"] = "controllable"
    devices: tuple[DeviceOverride, ...] = ()
    static: tuple[StaticDevice, ...] = ()
    rooms: tuple[RoomConfig, ...] = ()

    def __post_init__(self) -> None:
        import ipaddress

        for net in self.subnets:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"subnets: {net!r} is not a network like 192.168.20.0/24") from None


@dataclass(frozen=True, slots=True)
class SkillsConfig:
    dirs: tuple[str, ...] = ("skills",)  # relative to the state dir
    allow_python: tuple[str, ...] = ()  # skills whose Python drivers may run
    reload_interval: float = 2.0  # seconds between looks at the skill folders for edits; 0: never reload

    def __post_init__(self) -> None:
        if self.reload_interval < 0:
            raise ValueError("reload_interval: must be 0 (off) or a number of seconds")


@dataclass(frozen=True, slots=True)
class CameraConfig:
    name: str
    url: str  # rtsp://, http(s):// MJPEG or snapshot, a file path, or "usb:0"
    detect_url: str = ""  # optional low-resolution substream for detection
    room: str = ""
    fps: float = 5.0
    mask: tuple[tuple[tuple[float, float], ...], ...] = ()  # polygons in 0..1 coordinates
    zones: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    armed_modes: tuple[str, ...] = ("home", "away", "night")
    cooldown: float = 120.0  # seconds after an alert before this camera may alert again
    offline_after: float = 30.0  # seconds without a picture before the camera is reported offline

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.url.strip():
            raise ValueError("name: every camera needs a name and a url")
        if not 0 < self.fps <= 120:
            raise ValueError("fps: must be more than 0 and at most 120 (5 is plenty for change detection)")
        if self.cooldown < 0 or self.offline_after <= 0:
            raise ValueError("cooldown: cooldown must be 0 or more and offline_after more than 0")
        if unknown := set(self.armed_modes) - {"home", "away", "night"}:
            raise ValueError(f"armed_modes: unknown mode {sorted(unknown)[0]!r}; use home, away or night")
        for polygon in (*self.mask, *self.zones.values()):
            if len(polygon) < 3 or not all(len(p) == 2 and 0 <= p[0] <= 1 and 0 <= p[1] <= 1 for p in polygon):
                raise ValueError("mask: polygons need at least 3 [x, y] points with x and y between 0 and 1")


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    global_cooldown: float = 30.0  # seconds after any alert before another camera may alert
    quiet_hours: str = ""  # "22:30-07:00": only people are alerted then; the rest is kept for "what happened?"
    mode: Literal["home", "away", "night"] = "home"  # at start-up; chat ("we're away") changes it
    retention_days: float = 14.0
    retention_mb: float = 2000.0
    event_quiet_seconds: float = 4.0  # an event ends after this long without change
    min_motion_frames: int = 2  # changed frames an event needs before it is described (drops one-frame blips)
    settle_seconds: float = 1.5  # wait up to this long into an event for its object to be whole in the picture
    describe_timeout: float = 20.0  # seconds the vision model gets; then the alert goes out with a plain line
    max_event_seconds: float = 300.0  # a longer stretch of change is split into several events
    watch_interval: float = 30.0  # seconds between looks while watching for something ("tell me when ...")

    def __post_init__(self) -> None:
        from claw.jobs.heartbeat import quiet_window

        try:
            quiet_window(self.quiet_hours)
        except ValueError as exc:
            raise ValueError(f"quiet_hours: {exc}") from None
        if self.global_cooldown < 0 or self.settle_seconds < 0:
            raise ValueError("global_cooldown: cooldowns and settle_seconds must be 0 or more")
        if self.retention_days <= 0 or self.retention_mb <= 0:
            raise ValueError("retention_days: retention_days and retention_mb must be more than 0")
        if self.event_quiet_seconds <= 0 or self.describe_timeout <= 0 or self.watch_interval <= 0:
            raise ValueError("event_quiet_seconds: event_quiet_seconds, describe_timeout, watch_interval must be > 0")
        if self.min_motion_frames < 1:
            raise ValueError("min_motion_frames: must be at least 1")
        if self.max_event_seconds < 10:
            raise ValueError("max_event_seconds: must be at least 10")


@dataclass(frozen=True, slots=True)
class JobConfig:
    id: str
    schedule: str  # "cron: 30 6 * * mon-fri", "every: 15m", "at: 2026-12-24 18:00", "sunset: -30m"
    action: str  # "routine: good morning", "say: take the bins out", "ask: ...", "device: porch light on"
    enabled: bool = True
    description: str = ""  # a short name shown in lists; empty: made from the action

    def __post_init__(self) -> None:
        from claw.jobs.job import ActionError, parse_action
        from claw.jobs.schedule import check

        if not self.id or not all(c.isalnum() or c in "-_." for c in self.id):
            raise ValueError("id: use letters, digits, '-', '_' or '.'")
        if problem := check(self.schedule):
            raise ValueError(f"schedule: {problem}")
        try:
            parse_action(self.action)
        except ActionError as exc:
            raise ValueError(f"action: {exc}") from None


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    grace_seconds: float = 300.0
    job_timeout: float = 120.0
    failure_limit: int = 3
    keep_runs: int = 200  # history rows kept per job
    jobs: tuple[JobConfig, ...] = ()

    def __post_init__(self) -> None:
        if self.grace_seconds < 0:
            raise ValueError("grace_seconds: must be 0 or more")
        if self.job_timeout <= 0:
            raise ValueError("job_timeout: must be more than 0")
        if self.failure_limit < 1:
            raise ValueError("failure_limit: must be at least 1")
        if self.keep_runs < 1:
            raise ValueError("keep_runs: must be at least 1")


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    enabled: bool = True
    interval_minutes: float = 30.0
    quiet_hours: str = "22:30-07:00"  # only urgent findings go out then; "" for none
    battery_low: int = 20
    repeat_hours: float = 24.0  # an unchanged finding is said again after this long

    def __post_init__(self) -> None:
        from claw.jobs.heartbeat import quiet_window

        if self.interval_minutes < 1:
            raise ValueError("interval_minutes: must be at least 1")
        if self.repeat_hours <= 0:
            raise ValueError("repeat_hours: must be more than 0")
        try:
            quiet_window(self.quiet_hours)
        except ValueError as exc:
            raise ValueError(f"quiet_hours: {exc}") from None


@dataclass(frozen=True, slots=True)
class LocationConfig:
    timezone: str = "UTC"
    latitude: float = 51.48
    longitude: float = 0.0

    def __post_init__(self) -> None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone '{self.timezone}'; use a name like Europe/London") from None
        if not -90 <= self.latitude <= 90:
            raise ValueError("latitude: must be between -90 and 90")
        if not -180 <= self.longitude <= 180:
            raise ValueError("longitude: must be between -180 and 180")


@dataclass(frozen=True, slots=True)
class Config:
    state_dir: str = "~/.local/share/claw"
    soul: str = "SOUL.md"  # relative to the state dir
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    llm: LLMConfig = field(default_factory=LLMConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    private: PrivateConfig = field(default_factory=PrivateConfig)
    public: PublicConfig = field(default_factory=PublicConfig)
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    owners: tuple[Owner, ...] = ()
    home: HomeConfig = field(default_factory=HomeConfig)
    skills: SkillsConfig = field(default_factory=SkillsConfig)
    cameras: tuple[CameraConfig, ...] = ()
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)
    location: LocationConfig = field(default_factory=LocationConfig)
    source: str = field(default="(defaults)", compare=False)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir).expanduser()

    @property
    def soul_path(self) -> Path:
        return self.state_path / self.soul


SECRET_WORDS = ("token", "secret", "password", "auth", "api_key", "apikey")


def parse(data: Mapping[str, Any], source: str = "(inline)") -> Config:
    """Validate a parsed TOML table into a Config, or raise ConfigError naming the key."""
    _refuse_secrets(data, source, "")
    try:
        config = build(Config, dict(data))
    except ShapeError as exc:
        raise ConfigError(source, exc.key, exc.problem, exc.fix) from None
    if len({c.name for c in config.cameras}) != len(config.cameras):
        raise ConfigError(source, "cameras", "two cameras share a name", "give each camera its own name")
    job_ids = [j.id for j in config.scheduler.jobs]
    if len(set(job_ids)) != len(job_ids) or "heartbeat" in job_ids:
        raise ConfigError(
            source, "scheduler.jobs", "two jobs share an id, or one is called 'heartbeat'", "give each job its own id"
        )
    return replace(config, source=source)


def load(path: str | Path) -> Config:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file ({exc.strerror})", "check the path") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"is not valid TOML ({exc})", "fix the syntax") from None
    config = parse(data, str(path))
    if not Path(config.state_dir).expanduser().is_absolute():  # relative to the config file, not the cwd
        config = replace(config, state_dir=str((path.parent / config.state_dir).resolve()))
    return config


def _refuse_secrets(data: Mapping[str, Any], source: str, prefix: str) -> None:
    """Secrets belong in the environment or systemd credentials, never in the TOML."""
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            _refuse_secrets(value, source, dotted)
        elif isinstance(value, str) and value and any(w in str(key).lower() for w in SECRET_WORDS):
            raise ConfigError(
                source,
                dotted,
                "looks like a secret",
                "remove it from the file; secrets come from the environment or systemd credentials "
                "(see README, 'Secrets')",
            )
