"""Skills: a new device kind or routine is a SKILL.md in skills/ (format, loader, declarative driver, CLI)."""
