"""Terrain's web face: one aiohttp application in the bot's process.

It runs while PUBLIC_URL is set (the HTTPS address a reverse proxy serves it under),
listening on WEB_HOST:WEB_PORT. Each module registers its own routes on the
application, from `server.ROUTES`:

- `pages`: our own static files (`static/`, part of the installed package) and the
  index page;
- `health`: `GET /healthz`, what a supervisor or a load balancer asks;
- `webhook`: with UPDATES=webhook, the address Telegram posts updates to;
- `pad`: the signature pad, a Mini App opened from the acceptance step.

What a route needs (settings, the database, the Bot, the handlers' options, the
inbox, and the outbox sender for what a unit of work committed) is one
`WebContext`, stored in the application under `CONTEXT`. The web face opens no
other door to the data: what it stores goes through the same storage functions,
units of work and outbox as the chat.
"""

from bot.web.server import CONTEXT, ROUTES, WebContext, WebFace, WebProblem, build_app

__all__ = ["CONTEXT", "ROUTES", "WebContext", "WebFace", "WebProblem", "build_app"]
