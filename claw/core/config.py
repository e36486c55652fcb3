"""TOML config -> frozen dataclasses; every mistake names the file, the key and the fix."""

from __future__ import annotations

import importlib.util
import ipaddress
import tomllib
import urllib.parse
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from claw.core.errors import ConfigError
from claw.core.findings import quiet_window
from claw.core.typed import Bounds, ShapeError, build

# Limits every key of these types gets, checked (and named) when the file is read.
Port = Annotated[int, Bounds(low=1, high=65535)]  # a TCP/UDP port to listen on or send to
Duration = Annotated[float, Bounds(above=0)]  # seconds, minutes or hours: a timeout, an interval, a lifetime
Count = Annotated[int, Bounds(low=1)]  # tokens, characters, rounds: at least one
Share = Annotated[float, Bounds(low=0, high=1)]  # a fraction of a budget


@dataclass(frozen=True, slots=True)
class LLMConfig:
    host: str = "http://127.0.0.1:11434"
    model: str = "qwen3:8b"
    vision_model: str = "qwen2.5vl:3b"
    num_ctx: Count = 8192
    keep_alive: str = "30m"
    timeout: Duration = 120.0  # seconds for one model call
    max_rounds: Count = 6  # tool-loop rounds per turn
    max_concurrent: Count = 1  # model calls in flight at once (one GPU)
    tool_result_chars: Count = 4000  # longer tool results are cut before going back to the model
    api: Literal["ollama", "openai"] = "ollama"  # "openai": an OpenAI-compatible server (llama.cpp, vLLM, LM Studio)
    base_url: str = ""  # with api = "openai": the server's API root, e.g. http://127.0.0.1:8080/v1
    api_key_env: str = ""  # with api = "openai": the environment variable (or credential llm_api_key) with its key
    # Bounded generation: every answer has an output limit fitting its purpose, and a turn has a time budget
    reply_tokens: Count = 400  # most tokens of one answer in a turn (a tool decision or a reply)
    summary_tokens: Count = 800  # most tokens of a memory flush or summary answer
    describe_tokens: Count = 300  # most tokens of a camera or photo description
    turn_seconds: Duration = 60.0  # one model turn, all rounds: past it the answer is cut and the owner told
    # How the model proposes actions: "structured" (a JSON schema of the live home's actions and names),
    # "tools" (native tool calls), "text" (tool calls read from text); "auto": the best the server takes
    decisions: Literal["auto", "structured", "tools", "text"] = "auto"

    def __post_init__(self) -> None:
        if not self.host.startswith(("http://", "https://")):
            raise ValueError("host: must start with http:// or https://")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url: must start with http:// or https:// (e.g. http://127.0.0.1:8080/v1)")
        if self.api == "openai" and not self.base_url:
            raise ValueError('base_url: api = "openai" needs the server\'s URL, e.g. http://127.0.0.1:8080/v1')
        if self.api_key_env and not all(c.isupper() or c.isdigit() or c == "_" for c in self.api_key_env):
            raise ValueError("api_key_env: must name an environment variable like VLLM_API_KEY; the key goes there")

    @property
    def address(self) -> str:
        """Where the model server is: `host` for Ollama, `base_url` for an OpenAI-compatible one."""
        return self.base_url if self.api == "openai" else self.host

    def output_tokens(self, purpose: str) -> int:
        """The output limit for one answer: "summary", "describe", else a turn's reply or decision."""
        return {"summary": self.summary_tokens, "describe": self.describe_tokens}.get(purpose, self.reply_tokens)


@dataclass(frozen=True, slots=True)
class MemoryConfig:
    budget_tokens: Annotated[int, Bounds(low=1000)] = 6000  # whole prompt, tools included; keep below [llm] num_ctx
    facts_share: Share = 0.15  # of the budget, for curated facts
    summary_tokens: Count = 600
    keep_recent_share: Share = 0.5  # of the history budget kept verbatim after compaction
    # the [llm] server's embedding model ("nomic-embed-text", "qwen3-embedding:0.6b"); "": recall by words only
    embed_model: str = ""
    recall_facts: Count = 8  # facts retrieved for each turn's prompt (the owner's preferences come on top)


@dataclass(frozen=True, slots=True)
class PrivateConfig:
    host: str = "127.0.0.1"
    port: Port = 8765
    token_required: bool = False  # always on when host is not loopback

    def __post_init__(self) -> None:
        if self.host.strip("[]") in ("", "0.0.0.0", "::", "*") and not self.token_required:
            raise ValueError(
                f'host: "{self.host}" opens the dashboard on every network this machine is on; use "127.0.0.1" '
                "(a tunnel or reverse proxy reaches it there), or set token_required = true to mean it"
            )


@dataclass(frozen=True, slots=True)
class PublicConfig:
    host: str = "127.0.0.1"
    port: Port = 8766


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    number: str = ""  # E.164, e.g. "+15551234567"; may be empty for an owner on Telegram only
    telegram: Annotated[int, Bounds(low=0)] = 0  # Telegram user id (ask @userinfobot); 0: not on Telegram
    prefer: Literal["", "whatsapp", "telegram"] = ""  # where alerts go; "": WhatsApp if they have it, else Telegram

    def __post_init__(self) -> None:
        if not self.number and not self.telegram:
            raise ValueError("number: is required (E.164 like +15551234567), unless the owner has a telegram user id")
        if self.number and (not self.number.startswith("+") or not self.number[1:].isdigit()):
            raise ValueError("number: must be E.164 like +15551234567")
        if self.prefer == "whatsapp" and not self.number:
            raise ValueError('prefer: "whatsapp" needs a number')
        if self.prefer == "telegram" and not self.telegram:
            raise ValueError('prefer: "telegram" needs a telegram user id')

    @property
    def key(self) -> str:
        """The owner's identity across channels: their number, else their Telegram id (one conversation)."""
        return self.number or f"telegram:{self.telegram}"


@dataclass(frozen=True, slots=True)
class WhatsAppConfig:
    enabled: bool = False
    api_base: str = ""  # empty: the real https://api.twilio.com
    public_url: str = ""  # what Twilio calls, e.g. https://claw.example.org; empty: no media out
    sender: str = ""  # the WhatsApp sender, e.g. "whatsapp:+14155238886"
    template_sid: str = ""  # approved template for messages outside the 24 h window
    window_hours: float = 24.0
    media_ttl: Duration = 600.0
    send_timeout: Duration = 10.0
    voice_transcription: bool = False
    retry_base: Duration = 1.0  # seconds before the first resend; doubles each time, with jitter
    retry_max_delay: Duration = 10.0  # the longest wait between two attempts (also after an outage ends)
    give_up_hours: Duration = 24.0  # a message still unsent after this long is dead-lettered
    messages_per_minute: Annotated[int, Bounds(low=1, high=10_000)] = 30  # from one owner; beyond: 429, not taken

    def __post_init__(self) -> None:
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("public_url: must start with https:// (e.g. https://claw.example.org)")
        if self.sender and not self.sender.startswith("whatsapp:+"):
            raise ValueError('sender: must look like "whatsapp:+14155238886"')
        if self.template_sid and not (self.template_sid.startswith("HX") and len(self.template_sid) == 34):
            raise ValueError("template_sid: must be a Content SID like HX followed by 32 hex digits")
        if not 0 < self.window_hours <= 24:
            raise ValueError("window_hours: must be more than 0 and at most 24")


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    enabled: bool = False
    api_base: str = ""  # empty: the real https://api.telegram.org; tests point it at a Bot API fake
    token_env: str = "TELEGRAM_BOT_TOKEN"  # the environment variable (or systemd credential telegram_bot_token)
    poll_timeout: Annotated[int, Bounds(low=1, high=50)] = 30  # seconds one getUpdates long poll waits
    send_timeout: Duration = 10.0  # seconds for one Bot API call
    retry_base: Duration = 1.0  # seconds before the first resend; doubles each time, with jitter
    retry_max_delay: Duration = 10.0  # the longest wait between two attempts (also after an outage ends)
    give_up_hours: Duration = 24.0  # a message still unsent after this long is dead-lettered
    messages_per_minute: Annotated[int, Bounds(low=1, high=10_000)] = 30  # from one owner; beyond: not taken

    def __post_init__(self) -> None:
        if self.api_base and not self.api_base.startswith(("http://", "https://")):
            raise ValueError("api_base: must start with https:// (or http:// for a local Bot API server)")
        if not self.token_env or not all(c.isupper() or c.isdigit() or c == "_" for c in self.token_env):
            raise ValueError(
                "token_env: must name an environment variable like TELEGRAM_BOT_TOKEN; the token itself goes there"
            )


@dataclass(frozen=True, slots=True)
class MqttConfig:
    enabled: bool = False
    host: str = "127.0.0.1"  # the broker (Mosquitto, the Home Assistant add-on, EMQX)
    port: Port = 1883  # 8883 is the usual port with tls = true
    tls: bool = False
    ca_file: str = ""  # a CA bundle for a broker with its own certificate; empty: the system's
    client_id: str = "claw"
    discovery_prefix: str = "homeassistant"  # where Zigbee2MQTT, Tasmota and ESPHome publish their devices
    user_env: str = "CLAW_MQTT_USER"  # the environment variable (or systemd credential mqtt_user); unset: anonymous
    password_env: str = "CLAW_MQTT_PASSWORD"  # the environment variable (or systemd credential mqtt_password)
    keepalive: Annotated[int, Bounds(low=5, high=3600)] = 30  # seconds between pings to the broker
    unreachable_after: Duration = 60.0  # seconds a broker outage lasts before the owner is told (once)

    def __post_init__(self) -> None:
        if not self.host.strip() or any(c.isspace() or c == "/" for c in self.host):
            raise ValueError("host: must be a broker host name or address like 192.168.1.10 (no scheme, no path)")
        if not self.client_id or len(self.client_id) > 64 or not all(c.isalnum() or c in "-_." for c in self.client_id):
            raise ValueError("client_id: use up to 64 letters, digits, '-', '_' or '.'")
        prefix = self.discovery_prefix
        if not prefix or prefix.startswith("/") or prefix.endswith("/") or any(c in prefix for c in "#+ "):
            raise ValueError('discovery_prefix: a topic like "homeassistant" (no wildcards, no slashes at the ends)')
        if self.ca_file and not self.tls:
            raise ValueError("ca_file: only used with tls = true; set tls = true or remove ca_file")
        for key, name in (("user_env", self.user_env), ("password_env", self.password_env)):
            if not name or not all(c.isupper() or c.isdigit() or c == "_" for c in name):
                raise ValueError(f"{key}: must name an environment variable like CLAW_MQTT_PASSWORD, not the value")


@dataclass(frozen=True, slots=True)
class HomeAssistantConfig:
    enabled: bool = True  # false: never talk to Home Assistant, even with a token set
    url: str = ""  # http(s)://host:port; empty: none, unless `discover`
    discover: bool = False  # with no url: send the token to the Home Assistant announced on mDNS (trusts the LAN)
    token_env: str = "HASS_TOKEN"  # the environment variable (or systemd credential hass_token)
    timeout: Duration = 10.0  # seconds for one answer from Home Assistant

    def __post_init__(self) -> None:
        if self.url:
            parts = urllib.parse.urlsplit(self.url)
            try:
                port = parts.port
            except ValueError:
                port = None
            shape = parts.scheme in ("http", "https") and parts.hostname and port is not None
            if not shape or parts.path not in ("", "/"):
                raise ValueError(f"url: {self.url!r} must look like http://homeassistant.local:8123 (with the port)")
        if not self.token_env or not all(c.isupper() or c.isdigit() or c == "_" for c in self.token_env):
            raise ValueError("token_env: must name an environment variable like HASS_TOKEN (the token goes there)")


@dataclass(frozen=True, slots=True)
class FrigateConfig:
    enabled: bool = False  # needs [mqtt] on the broker Frigate publishes to
    url: str = ""  # Frigate's HTTP API for the snapshots, e.g. http://192.168.1.20:5000 (the unauthenticated port)
    topic_prefix: str = "frigate"  # Frigate's mqtt.topic_prefix
    source: Literal["reviews", "events"] = "reviews"  # reviews: Frigate 0.14+ (one per review item); events: older
    labels: tuple[str, ...] = ()  # only these objects ("person", "car"); empty: every one Frigate reports
    cameras: tuple[str, ...] = ()  # the Frigate cameras Claw takes events from (anyone on the broker can name one)
    all_cameras: bool = False  # true: every camera any message names, instead of `cameras`
    timeout: Duration = 10.0  # seconds for one snapshot download

    def __post_init__(self) -> None:
        if self.enabled and not self.url.startswith(("http://", "https://")):
            raise ValueError("url: Frigate's address like http://192.168.1.20:5000 (http:// or https://)")
        if self.enabled and not self.cameras and not self.all_cameras:
            raise ValueError(
                'cameras: name the Frigate cameras to follow, e.g. cameras = ["front_door"] (or all_cameras = true)'
            )
        if self.cameras and self.all_cameras:
            raise ValueError("all_cameras: true takes every camera; leave cameras = [] or set all_cameras = false")
        if any(not c or len(c) > 48 or not all(ch.isalnum() or ch in "_-" for ch in c) for c in self.cameras):
            raise ValueError("cameras: Frigate's camera names, e.g. front_door (letters, digits, _ and -, 48 at most)")
        if not self.topic_prefix or any(c in self.topic_prefix for c in "#+ "):
            raise ValueError('topic_prefix: a topic like "frigate" (no wildcards)')


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
    ssdp_interval: Duration = 300.0
    ssdp_port: Port = 1900
    device_timeout: Duration = 3.0
    poll_interval: Duration = 30.0
    new_devices: Literal["controllable", "ask", "ignore"] = "controllable"
    devices: tuple[DeviceOverride, ...] = ()
    static: tuple[StaticDevice, ...] = ()
    rooms: tuple[RoomConfig, ...] = ()

    def __post_init__(self) -> None:
        for net in self.subnets:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"subnets: {net!r} is not a network like 192.168.20.0/24") from None


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    # device commands a minute (a routine counts once); beyond, a refusal in plain words (HTTP 429) and nothing sent
    agent_commands_per_minute: Annotated[int, Bounds(low=1, high=100_000)] = 60  # each agent, the model, each job
    owner_commands_per_minute: Annotated[int, Bounds(low=0, high=1_000_000)] = 3000  # an owner's own; 0: no limit


@dataclass(frozen=True, slots=True)
class McpConfig:
    # Agents (MCP clients, API scripts) each get their own token, never the dashboard's: `claw mcp token NAME`
    # shows it and `--rotate` replaces it. An agent acts as itself: it never sees or confirms a code.
    agents: tuple[str, ...] = ("agent",)

    def __post_init__(self) -> None:
        bad = [a for a in self.agents if not a or len(a) > 40 or not all(c.isalnum() or c in "-_" for c in a)]
        if bad or len(set(self.agents)) != len(self.agents):
            raise ValueError('agents: distinct short names like ["claude-desktop", "home-llm"] (letters, digits, - _)')


@dataclass(frozen=True, slots=True)
class SkillsConfig:
    dirs: tuple[str, ...] = ("skills",)  # relative to the state dir
    allow_python: tuple[str, ...] = ()  # skills whose Python drivers may run
    reload_interval: Annotated[float, Bounds(low=0)] = 2.0  # seconds between looks at the skill folders; 0: never


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
    cooldown: Annotated[float, Bounds(low=0)] = 120.0  # seconds after an alert before this camera may alert again
    offline_after: Duration = 30.0  # seconds without a picture before the camera is reported offline

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.url.strip():
            raise ValueError("name: every camera needs a name and a url")
        if not 0 < self.fps <= 120:
            raise ValueError("fps: must be more than 0 and at most 120 (5 is plenty for change detection)")
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
    retention_days: Duration = 14.0
    retention_mb: Annotated[float, Bounds(above=0)] = 2000.0
    event_quiet_seconds: Duration = 4.0  # an event ends after this long without change
    min_motion_frames: Count = 2  # changed frames an event needs before it is described (drops one-frame blips)
    settle_seconds: float = 1.5  # wait up to this long into an event for its object to be whole in the picture
    describe_timeout: Duration = 20.0  # seconds the vision model gets; then the alert goes out with a plain line
    max_event_seconds: Annotated[float, Bounds(low=10)] = 300.0  # a longer stretch of change is split into several
    watch_interval: Duration = 30.0  # seconds between looks while watching for something ("tell me when ...")

    def __post_init__(self) -> None:
        try:
            quiet_window(self.quiet_hours)
        except ValueError as exc:
            raise ValueError(f"quiet_hours: {exc}") from None
        if self.global_cooldown < 0 or self.settle_seconds < 0:
            raise ValueError("global_cooldown: cooldowns and settle_seconds must be 0 or more")


@dataclass(frozen=True, slots=True)
class JobConfig:
    id: str
    schedule: str  # "cron: 30 6 * * mon-fri", "every: 15m", "at: 2026-12-24 18:00", "sunset: -30m"
    action: str  # "routine: good morning", "say: take the bins out", "ask: ...", "device: porch light on"
    enabled: bool = True
    description: str = ""  # a short name shown in lists; empty: made from the action

    def __post_init__(self) -> None:
        # the schedule and action grammars are the jobs domain's: claw.jobs.job.check_config reads them
        if not self.id or not all(c.isalnum() or c in "-_." for c in self.id):
            raise ValueError("id: use letters, digits, '-', '_' or '.'")


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    grace_seconds: Annotated[float, Bounds(low=0)] = 300.0
    job_timeout: Duration = 120.0
    failure_limit: Count = 3
    keep_runs: Count = 200  # history rows kept per job
    jobs: tuple[JobConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    enabled: bool = True
    interval_minutes: Annotated[float, Bounds(low=1)] = 30.0
    quiet_hours: str = "22:30-07:00"  # only urgent findings go out then; "" for none
    battery_low: Annotated[int, Bounds(low=0, high=100)] = 20  # percent
    repeat_hours: Duration = 24.0  # an unchanged finding is said again after this long

    def __post_init__(self) -> None:
        try:
            quiet_window(self.quiet_hours)
        except ValueError as exc:
            raise ValueError(f"quiet_hours: {exc}") from None


@dataclass(frozen=True, slots=True)
class LocationConfig:
    timezone: str = "UTC"
    latitude: float = 51.48
    longitude: float = 0.0
    units: str = "metric"  # "imperial": temperatures are said and heard in °F (devices still take °C)

    def __post_init__(self) -> None:
        if self.units not in ("metric", "imperial"):
            raise ValueError(f"units: must be 'metric' or 'imperial', not '{self.units}'")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone '{self.timezone}'; use a name like Europe/London") from None
        if not -90 <= self.latitude <= 90:
            raise ValueError("latitude: must be between -90 and 90")
        if not -180 <= self.longitude <= 180:
            raise ValueError("longitude: must be between -180 and 180")


@dataclass(frozen=True, slots=True)
class BackupConfig:
    enabled: bool = True  # a nightly online copy of the database into <state_dir>/backups
    at: str = "03:30"  # when, in [location] timezone; a day with no copy yet gets one at start-up
    keep: Annotated[int, Bounds(low=1, high=365)] = 7  # copies kept; the oldest goes first

    def __post_init__(self) -> None:
        hour, _, minute = self.at.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60 and len(minute) == 2):
            raise ValueError(f'at: "{self.at}" is not a time of day like "03:30"')


LANGUAGES = ("en", "es", "de", "fr")  # the languages with Claw's own sentences as well as Home Assistant's


@dataclass(frozen=True, slots=True)
class AssistantConfig:
    languages: tuple[str, ...] = ("en",)  # tried in this order; the reply comes in the language that matched

    def __post_init__(self) -> None:
        unknown = [lang for lang in self.languages if lang not in LANGUAGES]
        if unknown or not self.languages:
            raise ValueError(f"languages: {', '.join(unknown) or 'none given'}: use some of {', '.join(LANGUAGES)}")


@dataclass(frozen=True, slots=True)
class Config:
    state_dir: str = "~/.local/share/claw"
    soul: str = "SOUL.md"  # relative to the state dir
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    llm: LLMConfig = field(default_factory=LLMConfig)
    assistant: AssistantConfig = field(default_factory=AssistantConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    private: PrivateConfig = field(default_factory=PrivateConfig)
    public: PublicConfig = field(default_factory=PublicConfig)
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    frigate: FrigateConfig = field(default_factory=FrigateConfig)
    owners: tuple[Owner, ...] = ()
    home: HomeConfig = field(default_factory=HomeConfig)
    home_assistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    mcp: McpConfig = field(default_factory=McpConfig)
    skills: SkillsConfig = field(default_factory=SkillsConfig)
    cameras: tuple[CameraConfig, ...] = ()
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)
    location: LocationConfig = field(default_factory=LocationConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    source: str = field(default="(defaults)", compare=False, metadata={"internal": True})  # the file it came from

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir).expanduser()

    @property
    def soul_path(self) -> Path:
        return self.state_path / self.soul


SECRET_WORDS = ("token", "secret", "password", "auth", "api_key", "apikey")
DIST = "claw-home"  # the distribution's name on the package index (the import package is `claw`)
# What a config may turn on that needs an extra: the key -> the extra, the modules it brings, how to turn it off.
EXTRAS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "cameras": ("eyes", ("cv2", "numpy"), "remove the [[cameras]]"),
    "whatsapp": ("whatsapp", ("twilio",), "set [whatsapp] enabled = false"),
    "telegram": ("telegram", ("telegram",), "set [telegram] enabled = false"),
}


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
    if config.frigate.enabled and not config.mqtt.enabled:
        problem, fix = "needs [mqtt] (Frigate's events come over the broker)", "set [mqtt] enabled = true and its host"
        raise ConfigError(source, "frigate.enabled", problem, fix)
    telegram_ids = [o.telegram for o in config.owners if o.telegram]
    if len(set(telegram_ids)) != len(telegram_ids):
        raise ConfigError(source, "owners.telegram", "two owners share a Telegram user id", "give each their own")
    return replace(config, source=source)


def alert_channel(config: Config, owner: Owner) -> str:
    """Where alerts and notices for `owner` go: their `prefer` when that channel is on, else WhatsApp, else Telegram."""
    reachable = [
        name
        for name, on, address in (
            ("whatsapp", config.whatsapp.enabled, owner.number),
            ("telegram", config.telegram.enabled, owner.telegram),
        )
        if on and address
    ]
    if owner.prefer in reachable:
        return owner.prefer
    return reachable[0] if reachable else "whatsapp"


def load(path: str | Path) -> Config:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file ({exc.strerror})", "check the path") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(str(path), "", f"is not UTF-8 text (line {line})", "save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"is not valid TOML ({exc})", "fix the syntax") from None
    config = parse(data, str(path))
    if not Path(config.state_dir).expanduser().is_absolute():  # relative to the config file, not the cwd
        config = replace(config, state_dir=str((path.parent / config.state_dir).resolve()))
    return config


def missing_extras(config: Config, *only: str) -> list[ConfigError]:
    """One error per feature the config turns on whose extra is not installed (the install command as the fix)."""
    wanted = {
        "cameras": bool(config.cameras),
        "whatsapp": config.whatsapp.enabled,
        "telegram": config.telegram.enabled,
    }
    problems = []
    for key, (extra, modules, off) in EXTRAS.items():
        absent = [m for m in modules if importlib.util.find_spec(m) is None]
        if wanted[key] and absent and (not only or key in only):
            problems.append(
                ConfigError(
                    config.source,
                    key,
                    f"needs the [{extra}] extra, which is not installed (no module {', '.join(absent)})",
                    f"pip install '{DIST}[{extra}]', or {off}",
                )
            )
    return problems


def _refuse_secrets(data: Mapping[str, Any], source: str, prefix: str) -> None:
    """Secrets belong in the environment or systemd credentials, never in the TOML."""
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            _refuse_secrets(value, source, dotted)
        elif (
            isinstance(value, str)
            and value
            and any(w in str(key).lower() for w in SECRET_WORDS)
            and not str(key).endswith("_env")  # names the variable that holds it (checked to be a name)
        ):
            raise ConfigError(
                source,
                dotted,
                "looks like a secret",
                "remove it from the file; secrets come from the environment or systemd credentials "
                "(see README, 'Secrets')",
            )
