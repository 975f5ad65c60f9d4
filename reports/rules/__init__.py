"""The rules Terrain follows wherever a report is made: in the chat, on the command line
and in the scheduler. Plain Python: no Telegram, no database; each caller brings the values.

- `reports.rules.templates`: the sections a report can have and the templates (TOML files,
  shipped in `default_templates/` or the company's TEMPLATES_DIR) that choose them.
- `reports.rules.reading`: reading what people type (numbers, money, quantities, hours,
  dates, yes/no, free text, phone numbers, e-mail addresses), or a `ParseError` whose key
  names the message.
- `reports.rules.periods`: the period of an export (a day, a month, or a range of them).
- `reports.rules.pricing`: the company's pricing defaults, and which value prices an
  intervention (its own, else its template's, else the company's); the arithmetic is
  `reports.totals`.
- `reports.rules.reminders`: when the reminders and the office's digest are due, and what
  one missed while the bot was down becomes.
"""
