"""What a source's registry entry may say (config/sources.yaml): the models the registry validates and the
connectors read. `docs/sources-reference.md` is generated from them (`onestop config reference`)."""
