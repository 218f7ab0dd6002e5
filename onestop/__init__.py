"""onestop-esb core: settings, the source registry, the pipeline steps and the `onestop` CLI."""
