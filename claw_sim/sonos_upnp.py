"""UPnP plumbing of the simulated Sonos: service descriptions (SCPD), SOAP envelopes and faults."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

SOFTWARE_VERSION = "70.3-88200"  # the firmware the simulated speakers report
DISPLAY_VERSION = "15.9"
SERVER = f"Linux UPnP/1.0 Sonos/{SOFTWARE_VERSION} (ZPS1)"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"


class UpnpError(Exception):
    """A UPnP fault the speaker answers with (HTTP 500 + SOAP Fault carrying `code`)."""

    def __init__(self, code: int, description: str = "") -> None:
        self.code, self.description = code, description
        super().__init__(f"UPnP error {code} {description}".strip())


@dataclass(frozen=True, slots=True)
class Action:
    """One SOAP action: its name and argument names, in order."""

    name: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    """One UPnP service of a Sonos speaker and the actions the simulation supports on it."""

    name: str
    device: str  # "" for the root ZonePlayer, else "MediaRenderer" or "MediaServer"
    actions: tuple[Action, ...]

    @property
    def service_type(self) -> str:
        """The URN soco puts in SOAPACTION."""
        return f"urn:schemas-upnp-org:service:{self.name}:1"

    @property
    def control_url(self) -> str:
        """Where SOAP requests for this service are POSTed."""
        return f"/{self.device}/{self.name}/Control" if self.device else f"/{self.name}/Control"

    @property
    def event_url(self) -> str:
        """The GENA subscription URL (listed in the description; eventing is not simulated)."""
        return self.control_url.removesuffix("/Control") + "/Event"

    @property
    def scpd_url(self) -> str:
        """Where soco fetches the service description."""
        return f"/xml/{self.name}1.xml"

    def action(self, name: str) -> Action:
        """The named action, or UPnP fault 401 (Invalid Action)."""
        for action in self.actions:
            if action.name == name:
                return action
        raise UpnpError(401, "Invalid Action")


_TRANSPORT_ARGS = ("InstanceID", "Speed")
SERVICES: tuple[Service, ...] = (
    Service(
        "DeviceProperties",
        "",
        (
            Action("GetHouseholdID", (), ("CurrentHouseholdID",)),
            Action(
                "GetZoneAttributes",
                (),
                ("CurrentZoneName", "CurrentIcon", "CurrentConfiguration", "CurrentTargetRoomName"),
            ),
            Action(
                "SetZoneAttributes",
                ("DesiredZoneName", "DesiredIcon", "DesiredConfiguration"),
            ),
            Action(
                "GetZoneInfo",
                (),
                (
                    "SerialNumber",
                    "SoftwareVersion",
                    "DisplaySoftwareVersion",
                    "HardwareVersion",
                    "IPAddress",
                    "MACAddress",
                    "CopyrightInfo",
                    "ExtraInfo",
                    "HTAudioIn",
                    "Flags",
                ),
            ),
            Action("GetLEDState", (), ("CurrentLEDState",)),
            Action("SetLEDState", ("DesiredLEDState",)),
        ),
    ),
    Service(
        "ZoneGroupTopology",
        "",
        (
            Action("GetZoneGroupState", (), ("ZoneGroupState",)),
            Action(
                "GetZoneGroupAttributes",
                (),
                (
                    "CurrentZoneGroupName",
                    "CurrentZoneGroupID",
                    "CurrentZonePlayerUUIDsInGroup",
                    "CurrentMuseHouseholdId",
                ),
            ),
        ),
    ),
    Service(
        "RenderingControl",
        "MediaRenderer",
        (
            Action("GetVolume", ("InstanceID", "Channel"), ("CurrentVolume",)),
            Action("SetVolume", ("InstanceID", "Channel", "DesiredVolume")),
            Action("SetRelativeVolume", ("InstanceID", "Channel", "Adjustment"), ("NewVolume",)),
            Action("GetMute", ("InstanceID", "Channel"), ("CurrentMute",)),
            Action("SetMute", ("InstanceID", "Channel", "DesiredMute")),
        ),
    ),
    Service(
        "GroupRenderingControl",
        "MediaRenderer",
        (
            Action("GetGroupVolume", ("InstanceID",), ("CurrentVolume",)),
            Action("SetGroupVolume", ("InstanceID", "DesiredVolume")),
            Action("SetRelativeGroupVolume", ("InstanceID", "Adjustment"), ("NewVolume",)),
            Action("GetGroupMute", ("InstanceID",), ("CurrentMute",)),
            Action("SetGroupMute", ("InstanceID", "DesiredMute")),
            Action("SnapshotGroupVolume", ("InstanceID",)),
        ),
    ),
    Service(
        "AVTransport",
        "MediaRenderer",
        (
            Action("SetAVTransportURI", ("InstanceID", "CurrentURI", "CurrentURIMetaData")),
            Action(
                "AddURIToQueue",
                (
                    "InstanceID",
                    "EnqueuedURI",
                    "EnqueuedURIMetaData",
                    "DesiredFirstTrackNumberEnqueued",
                    "EnqueueAsNext",
                ),
                ("FirstTrackNumberEnqueued", "NumTracksAdded", "NewQueueLength"),
            ),
            Action("RemoveAllTracksFromQueue", ("InstanceID",)),
            Action("Play", _TRANSPORT_ARGS),
            Action("Pause", ("InstanceID",)),
            Action("Stop", ("InstanceID",)),
            Action("Next", ("InstanceID",)),
            Action("Previous", ("InstanceID",)),
            Action("Seek", ("InstanceID", "Unit", "Target")),
            Action(
                "GetTransportInfo",
                ("InstanceID",),
                ("CurrentTransportState", "CurrentTransportStatus", "CurrentSpeed"),
            ),
            Action(
                "GetPositionInfo",
                ("InstanceID",),
                (
                    "Track",
                    "TrackDuration",
                    "TrackMetaData",
                    "TrackURI",
                    "RelTime",
                    "AbsTime",
                    "RelCount",
                    "AbsCount",
                ),
            ),
            Action(
                "GetMediaInfo",
                ("InstanceID",),
                (
                    "NrTracks",
                    "MediaDuration",
                    "CurrentURI",
                    "CurrentURIMetaData",
                    "NextURI",
                    "NextURIMetaData",
                    "PlayMedium",
                    "RecordMedium",
                    "WriteStatus",
                ),
            ),
            Action("GetTransportSettings", ("InstanceID",), ("PlayMode", "RecQualityMode")),
            Action("SetPlayMode", ("InstanceID", "NewPlayMode")),
            Action("GetCurrentTransportActions", ("InstanceID",), ("Actions",)),
            Action(
                "BecomeCoordinatorOfStandaloneGroup",
                ("InstanceID",),
                ("DelegatedGroupCoordinatorID", "NewGroupID"),
            ),
        ),
    ),
    Service(
        "ContentDirectory",
        "MediaServer",
        (
            Action(
                "Browse",
                ("ObjectID", "BrowseFlag", "Filter", "StartingIndex", "RequestedCount", "SortCriteria"),
                ("Result", "NumberReturned", "TotalMatches", "UpdateID"),
            ),
        ),
    ),
)
SERVICE_BY_CONTROL_URL = {service.control_url: service for service in SERVICES}
SERVICE_BY_SCPD_URL = {service.scpd_url: service for service in SERVICES}

# UPnP data types of arguments; anything not listed is a string.
_ARG_TYPES = {
    "InstanceID": "ui4",
    "DesiredVolume": "ui2",
    "CurrentVolume": "ui2",
    "NewVolume": "ui2",
    "Adjustment": "i4",
    "DesiredMute": "boolean",
    "CurrentMute": "boolean",
    "EnqueueAsNext": "boolean",
    "DesiredFirstTrackNumberEnqueued": "ui4",
    "FirstTrackNumberEnqueued": "ui4",
    "NumTracksAdded": "ui4",
    "NewQueueLength": "ui4",
    "Track": "ui4",
    "NrTracks": "ui4",
    "RelCount": "i4",
    "AbsCount": "i4",
    "StartingIndex": "ui4",
    "RequestedCount": "ui4",
    "NumberReturned": "ui4",
    "TotalMatches": "ui4",
    "UpdateID": "ui4",
}
_ALLOWED = {
    "Channel": ("Master", "LF", "RF"),
    "CurrentTransportState": ("STOPPED", "PLAYING", "PAUSED_PLAYBACK", "TRANSITIONING"),
    "Unit": ("TRACK_NR", "REL_TIME", "TIME_DELTA"),
    "BrowseFlag": ("BrowseMetadata", "BrowseDirectChildren"),
}


def scpd(service: Service) -> str:
    """The service description XML soco parses to learn the actions and their arguments."""
    actions = []
    variables: dict[str, str] = {}
    for action in service.actions:
        args = []
        for direction, names in (("in", action.inputs), ("out", action.outputs)):
            for name in names:
                variable = f"A_ARG_TYPE_{name}"
                variables[variable] = _state_variable(variable, name)
                args.append(
                    f"<argument><name>{name}</name><direction>{direction}</direction>"
                    f"<relatedStateVariable>{variable}</relatedStateVariable></argument>"
                )
        arg_list = f"<argumentList>{''.join(args)}</argumentList>" if args else ""
        actions.append(f"<action><name>{action.name}</name>{arg_list}</action>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<scpd xmlns="urn:schemas-upnp-org:service-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        f"<serviceStateTable>{''.join(variables.values())}</serviceStateTable>"
        f"<actionList>{''.join(actions)}</actionList>"
        "</scpd>"
    )


def _state_variable(variable: str, arg: str) -> str:
    allowed = "".join(f"<allowedValue>{value}</allowedValue>" for value in _ALLOWED.get(arg, ()))
    allowed_list = f"<allowedValueList>{allowed}</allowedValueList>" if allowed else ""
    value_range = (
        "<allowedValueRange><minimum>0</minimum><maximum>100</maximum><step>1</step></allowedValueRange>"
        if arg.endswith("Volume")
        else ""
    )
    return (
        f'<stateVariable sendEvents="no"><name>{variable}</name>'
        f"<dataType>{_ARG_TYPES.get(arg, 'string')}</dataType>{allowed_list}{value_range}</stateVariable>"
    )


def parse_request(body: bytes) -> tuple[str, dict[str, str]]:
    """Return (action name, {argument: value}) of a SOAP request, or raise UpnpError 402."""
    try:
        envelope = ET.fromstring(body)
    except ET.ParseError as err:
        raise UpnpError(402, "Invalid Args") from err
    soap_body = envelope.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None or len(soap_body) == 0:
        raise UpnpError(401, "Invalid Action")
    call = soap_body[0]
    args = {_local(child.tag): child.text or "" for child in call}
    return _local(call.tag), args


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def response(service: Service, action: str, values: Mapping[str, str]) -> str:
    """The SOAP envelope answering `action` with its out arguments (escaped, in the given order)."""
    args = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in values.items())
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP_ENV}" s:encodingStyle="{SOAP_ENCODING}">'
        f'<s:Body><u:{action}Response xmlns:u="{service.service_type}">{args}'
        f"</u:{action}Response></s:Body></s:Envelope>"
    )


def fault(error: UpnpError) -> str:
    """The SOAP Fault body (sent with HTTP 500) that soco turns into SoCoUPnPException."""
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP_ENV}" s:encodingStyle="{SOAP_ENCODING}">'
        "<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>"
        '<detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
        f"<errorCode>{error.code}</errorCode><errorDescription>{escape(error.description)}"
        "</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>"
    )


def service_list(device: str) -> str:
    """The `<serviceList>` of one (sub)device in the device description."""
    entries = [
        "<service>"
        f"<serviceType>{service.service_type}</serviceType>"
        f"<serviceId>urn:upnp-org:serviceId:{service.name}</serviceId>"
        f"<controlURL>{service.control_url}</controlURL>"
        f"<eventSubURL>{service.event_url}</eventSubURL>"
        f"<SCPDURL>{service.scpd_url}</SCPDURL>"
        "</service>"
        for service in SERVICES
        if service.device == device
    ]
    return f"<serviceList>{''.join(entries)}</serviceList>"


def attr(value: str) -> str:
    """An XML attribute value, quoted and escaped."""
    return quoteattr(value)
