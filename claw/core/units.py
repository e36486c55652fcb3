"""Temperatures in the home's unit system: Claw's devices speak °C; a Fahrenheit home says and hears °F."""

from __future__ import annotations

CELSIUS = "°C"
FAHRENHEIT = "°F"
# [location] units -> the temperature unit people in that home say.
UNIT_SYSTEMS = {"metric": CELSIUS, "imperial": FAHRENHEIT}


def temperature_unit(units: str) -> str:
    """The temperature unit of a unit system ("metric" -> °C, "imperial" -> °F); °C for anything else."""
    return UNIT_SYSTEMS.get(units, CELSIUS)


def to_celsius(value: float, unit: str) -> float:
    """A temperature said in unit as °C, to the half degree a setpoint takes."""
    if unit != FAHRENHEIT:
        return value
    return round((value - 32) * 5 / 9 * 2) / 2


def from_celsius(value: float, unit: str) -> float:
    """A °C temperature in unit, to the whole degree people say in Fahrenheit."""
    if unit != FAHRENHEIT:
        return value
    return float(round(value * 9 / 5 + 32))


def step_to_celsius(step: float, unit: str) -> float:
    """A temperature difference ("2 degrees warmer") said in unit, as °C (to a tenth)."""
    return step if unit != FAHRENHEIT else round(step * 5 / 9, 1)
