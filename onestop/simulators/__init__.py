"""Stand-ins for the outside systems, each runnable as its own process (127.0.0.1 only).

- `igate`: an iGate-style district one-stop system (OAuth2 client credentials, page/size paging, no total).
- `portal`: the National Public Service Portal's sync adapter (session login, errors inside HTTP 200).

Start them with `onestop.simulators.process.start_simulator()`; each prints `READY <url>` when it accepts
connections.
"""
