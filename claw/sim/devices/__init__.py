"""Simulated HTTP smart-home devices, each a real protocol server on its own 127.0.0.N."""

from __future__ import annotations

from claw.sim.devices.base import IpAllocator, SimDevice, stable_mac
from claw.sim.devices.elgato import ElgatoKeyLight
from claw.sim.devices.homeassistant import AREA_MAP_TEMPLATE, DEFAULT_ENTITIES, HAEntitySpec, HomeAssistant
from claw.sim.devices.httpjson import KINDS, SENSOR_FLAVOURS, Field, HttpJsonDevice, make_device
from claw.sim.devices.hue import DEFAULT_LIGHTS, HueBridge, HueLightSpec
from claw.sim.devices.shelly import ShellyPlug
from claw.sim.devices.wled import WledStrip

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
