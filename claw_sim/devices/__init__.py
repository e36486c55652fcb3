"""Simulated HTTP smart-home devices, each a real protocol server on its own 127.0.0.N."""

from __future__ import annotations

from claw_sim.devices.base import IpAllocator, SimDevice, stable_mac
from claw_sim.devices.elgato import ElgatoKeyLight
from claw_sim.devices.homeassistant import AREA_MAP_TEMPLATE, DEFAULT_ENTITIES, HAEntitySpec, HomeAssistant
from claw_sim.devices.httpjson import KINDS, SENSOR_FLAVOURS, Field, HttpJsonDevice, make_device
from claw_sim.devices.hue import DEFAULT_LIGHTS, HueBridge, HueLightSpec
from claw_sim.devices.shelly import ShellyPlug
from claw_sim.devices.wled import WledStrip

__all__ = [
    "AREA_MAP_TEMPLATE",
    "DEFAULT_ENTITIES",
    "DEFAULT_LIGHTS",
    "KINDS",
    "SENSOR_FLAVOURS",
    "ElgatoKeyLight",
    "Field",
    "HAEntitySpec",
    "HomeAssistant",
    "HttpJsonDevice",
    "HueBridge",
    "HueLightSpec",
    "IpAllocator",
    "ShellyPlug",
    "SimDevice",
    "WledStrip",
    "make_device",
    "stable_mac",
]
