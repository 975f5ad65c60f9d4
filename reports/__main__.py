"""`python -m reports`: render the sample report, or measure rendering speed.

python -m reports sample [--lang fr|en] [--photos N] [--big] [--photos-from DIR]
                         [--cache DIR] [--out FILE]
python -m reports bench
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from reports.data import LANGUAGES


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports", description="Terrain's PDF intervention reports."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser(
        "sample", help="render a sample report (invented data) to preview the layout"
    )
    sample.add_argument("--lang", choices=LANGUAGES, default="fr", help="language (default fr)")
    sample.add_argument(
        "--photos",
        type=int,
        metavar="N",
        help="photos in the annex (default 6, or every file of --photos-from)",
    )
    sample.add_argument(
        "--big", action="store_true", help="12-megapixel photos instead of Telegram-sized ones"
    )
    sample.add_argument(
        "--photos-from",
        type=Path,
        metavar="DIR",
        help="use the JPEG/PNG files of DIR (all of them unless --photos is given)",
    )
    sample.add_argument(
        "--cache", type=Path, metavar="DIR", help="keep prepared photos in DIR between runs"
    )
    sample.add_argument(
        "--out",
        type=Path,
        default=Path("sample-report.pdf"),
        metavar="FILE",
        help="where to write the PDF (default sample-report.pdf)",
    )

    bench = commands.add_parser(
        "bench", help="measure render time, PDF size and peak memory (issue 4 targets)"
    )
    bench.add_argument("--repeat", type=int, default=3, help="runs of each case (default 3)")
    bench.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it")
    # Internal: the parent runs each measured case in a child process this way.
    bench.add_argument("--case", help=argparse.SUPPRESS)
    bench.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)

    args = parser.parse_args(argv)
    if args.command == "sample":
        return _sample(args, parser)
    from reports import bench as bench_module

    if args.case:
        if args.workdir is None:
            parser.error("--case needs --workdir")
        return bench_module.run_case(args.case, args.workdir)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    return bench_module.main(repeat=args.repeat, keep=args.keep)


def _sample(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pypdf import PdfReader

    from reports.images import PreparedCache
    from reports.pdf import build_report
    from reports.sample import CAMERA_SIZE, TELEGRAM_SIZE, photo_files, sample_photos, sample_report

    originals: list[Path] = []
    if args.photos_from is not None:
        if not args.photos_from.is_dir():
            parser.error(f"--photos-from: {args.photos_from} is not a folder")
        originals = photo_files(args.photos_from)
        if not originals:
            parser.error(f"--photos-from: no JPEG or PNG file in {args.photos_from}")
    count = args.photos if args.photos is not None else len(originals) or 6
    if count < 0:
        parser.error("--photos must be 0 or more")
    size = CAMERA_SIZE if args.big else TELEGRAM_SIZE
    photos = sample_photos(count, args.lang, size=size, originals=originals)
    cache = PreparedCache(args.cache) if args.cache else None
    started = time.perf_counter()
    pdf = build_report(sample_report(args.lang, photos), cache=cache)
    elapsed = time.perf_counter() - started
    args.out.write_bytes(pdf)
    pages = len(PdfReader(args.out).pages)
    print(
        f"{args.out}: {pages} pages, {len(pdf) / 1_000_000:.2f} MB, "
        f"{len(photos)} photos, rendered in {elapsed:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
