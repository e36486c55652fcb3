"""DIDL-Lite as a Sonos speaker writes and reads it: favourites, queue items, track metadata."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlparse
from xml.sax.saxutils import escape, quoteattr

DIDL_OPEN = (
    '<DIDL-Lite xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/" '
    'xmlns:r="urn:schemas-rinconnetworks-com:metadata-1-0/" '
    'xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/">'
)
DIDL_CLOSE = "</DIDL-Lite>"
_DC = "{http://purl.org/dc/elements/1.1/}"
_UPNP = "{urn:schemas-upnp-org:metadata-1-0/upnp/}"
_RADIO_PREFIXES = (
    "x-sonosapi-radio:",
    "x-sonosapi-stream:",
    "x-sonosapi-hls:",
    "x-rincon-mp3radio:",
    "aac:",
    "hls-radio:",
)
RADIO_CLASS = "object.item.audioItem.audioBroadcast"
TRACK_CLASS = "object.item.audioItem.musicTrack"
FAVORITE_CLASS = "object.itemobject.item.sonos-favorite"  # sic: what real speakers answer
TUNEIN_DESC = "SA_RINCON65031_"


@dataclass(frozen=True, slots=True)
class Track:
    """A playable item: its URI and DIDL-Lite metadata ("" when none was given)."""

    uri: str
    metadata: str = ""


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """What a speaker shows for a track: title, artist and whether it is a radio stream."""

    title: str
    artist: str
    radio: bool


def is_radio(uri: str, metadata: str = "") -> bool:
    """True for streams without a duration (radio URIs, or metadata of class audioBroadcast)."""
    return uri.startswith(_RADIO_PREFIXES) or RADIO_CLASS in metadata


def describe(track: Track) -> TrackInfo:
    """Title and artist from the metadata, else the URI's file name (as a speaker shows a bare URL)."""
    title = artist = ""
    if track.metadata:
        try:
            root = ET.fromstring(track.metadata)
        except ET.ParseError:
            root = None
        if root is not None:
            title = root.findtext(f".//{_DC}title") or ""
            artist = root.findtext(f".//{_DC}creator") or ""
    if not title and track.uri:
        path = urlparse(track.uri).path if "://" in track.uri else track.uri.partition(":")[2]
        title = unquote(path.rstrip("/").rpartition("/")[2])
    return TrackInfo(title, artist, is_radio(track.uri, track.metadata))


def item(
    item_id: str,
    parent_id: str,
    title: str,
    *,
    uri: str = "",
    item_class: str = TRACK_CLASS,
    artist: str = "",
    extra: str = "",
    restricted: bool = True,
) -> str:
    """One `<item>` element (no DIDL-Lite wrapper)."""
    creator = f"<dc:creator>{escape(artist)}</dc:creator>" if artist else ""
    res = f"<res protocolInfo={quoteattr(_protocol_info(uri))}>{escape(uri)}</res>" if uri else ""
    return (
        f"<item id={quoteattr(item_id)} parentID={quoteattr(parent_id)} "
        f'restricted="{str(restricted).lower()}">'
        f"{res}<dc:title>{escape(title)}</dc:title>{creator}"
        f"<upnp:class>{item_class}</upnp:class>{extra}</item>"
    )


def _protocol_info(uri: str) -> str:
    scheme = uri.partition(":")[0]
    return "http-get:*:audio/mpeg:*" if scheme in ("http", "https") else f"{scheme}:*:*:*"


def wrap(*items: str) -> str:
    """A DIDL-Lite document around the given `<item>` elements."""
    return DIDL_OPEN + "".join(items) + DIDL_CLOSE


def favourite_reference(title: str, uri: str) -> str:
    """The metadata a favourite points to (its `r:resMD`), as the speaker plays it."""
    if is_radio(uri):
        desc = f'<desc id="cdudn" nameSpace="urn:schemas-rinconnetworks-com:metadata-1-0/">{TUNEIN_DESC}</desc>'
        return wrap(item("F00092020s0", "F00082064", title, item_class=RADIO_CLASS, extra=desc))
    return wrap(item("10032020" + title.replace(" ", "_"), "", title, item_class=TRACK_CLASS))


def favourites(entries: Sequence[tuple[str, str]], start: int = 0) -> str:
    """`FV:2` children from `start` (0-based) as Sonos answers Browse: one sonos-favorite item each."""
    items = []
    for ordinal, (title, uri) in enumerate(entries, start):
        kind = "Sonos Radio" if is_radio(uri) else "Track"
        extra = (
            f"<r:ordinal>{ordinal}</r:ordinal><r:type>instantPlay</r:type>"
            f"<r:description>{kind}</r:description>"
            f"<r:resMD>{escape(favourite_reference(title, uri))}</r:resMD>"
        )
        items.append(
            item(
                f"FV:2/{ordinal + 1}",
                "FV:2",
                title,
                uri=uri,
                item_class=FAVORITE_CLASS,
                extra=extra,
                restricted=False,
            )
        )
    return wrap(*items)


def queue(tracks: Sequence[Track], start: int) -> str:
    """`Q:0` children from `start` (0-based), numbered like a speaker's queue (`Q:0/1` is the first)."""
    items = []
    for offset, track in enumerate(tracks):
        info = describe(track)
        item_class = RADIO_CLASS if info.radio else TRACK_CLASS
        items.append(
            item(
                f"Q:0/{start + offset + 1}",
                "Q:0",
                info.title,
                uri=track.uri,
                item_class=item_class,
                artist=info.artist,
            )
        )
    return wrap(*items)


def track_metadata(uri: str, title: str, artist: str, *, radio: bool) -> str:
    """The TrackMetaData a speaker reports for the loaded track ("" when nothing is loaded)."""
    if not uri:
        return ""
    extra = "<r:streamContent></r:streamContent>" if radio else ""
    item_class = RADIO_CLASS if radio else TRACK_CLASS
    return wrap(item("-1", "-1", title, uri=uri, item_class=item_class, artist=artist, extra=extra))
