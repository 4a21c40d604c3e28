"""The example dlt project files (config.toml, secrets.toml.example), shipped for `sdsync init`."""
