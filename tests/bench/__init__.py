"""Load and fault benchmark: `python -m tests.bench` (run from a checkout).

It starts the fake Bot API (tests/fakeapi.py) in its own thread and event loop,
prepares N technicians, each with a planned maintenance, and starts the real
`python -m bot` against it as a child process, configured by its environment only.
Then N simulated technicians walk through their whole report at once, with no
think time (see `walk` and `load`): /today, the card, Start, every section, photos,
and for a share of them the acceptance with signatures and the submission.

The same people then walk the same way through a bare aiogram bot
(tests/bench_bare.py) on the same machine, in the same run, so the figures can be
read as ratios: this machine is shared and noisy, a ratio holds better than an
absolute time. `figures` says what is measured and how.

With --faults, a fault run follows the clean one: the fake server spoils about a
fifth of the calls (429, nginx 5xx pages, connections dropped before and after the
call was handled), the bot is killed with SIGKILL halfway and started again, and
`findings` counts lost inputs, duplicated deliveries and messages that disagree
with storage.
"""
