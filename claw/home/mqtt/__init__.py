"""MQTT devices: Home Assistant MQTT discovery (Zigbee2MQTT, Tasmota, ESPHome) over one supervised client."""
