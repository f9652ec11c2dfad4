"""``wit-builder download``: flags from ``DownloadSettings``, and the thin runner around the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from wit_builder import stages
from wit_builder.download.settings import DownloadRules, DownloadSettings
from wit_builder.wording import counted


def check_lists_and_sets(rules: DownloadRules, out: str) -> str:
    """Read every hash blocklist and hash every evaluation set before any fetch (a bad list or a
    missing set is a usage error, exit 2); returns what their contents add to the chunks' key, so
    a changed list or set re-decides the chunks it could change and nothing else is reused."""
    import hashlib

    from wit_builder.download.eval_sets import EvalSet, prepare_eval_sets
    from wit_builder.download.hash_blocklists import check_hash_lists

    if not rules.blocklists and not rules.eval_sets:
        return ""
    digest = hashlib.sha256()
    for blocklist in check_hash_lists(rules.blocklists):
        digest.update(f"{blocklist.name}\0{blocklist.kind}\0{sorted(blocklist.entries)}".encode())
    if rules.eval_sets:
        sets = [EvalSet.parse(text) for text in rules.eval_sets]
        print(f"[download] hashing {len(sets)} evaluation set(s): {', '.join(s.name for s in sets)}", flush=True)
        summary = prepare_eval_sets(sets, out, processes=max(1, rules.image_processes))
        for name, record in summary.items():
            digest.update(f"{name}\0{record['digest']}".encode())
            print(f"[download]   {name}: {record['images']:,} images, {record['hashes']:,} hashes", flush=True)
            for problem in record["unreadable"][:5]:
                print(f"[download]   {name}: unreadable, left out: {problem}", flush=True)
    return "-" + digest.hexdigest()[:12]


def run(settings: DownloadSettings, beam_args: Sequence[str]) -> int:
    from wit_builder.download.pipeline import build_pipeline
    from wit_builder.io.chunks import plan_chunks, require_readable
    from wit_builder.io.stage_folders import check_out, input_files
    from wit_builder.progress import Progress, files_in
    from wit_builder.stage_run import replace_outputs, run_pipeline
    from wit_builder.stderr import warn_skipped

    source = stages.main_input("download")
    found = input_files("--pairs", settings.pairs, source.name, source.data)
    check_out(settings.out, "download")
    files, unreadable = require_readable(found, "balanced", "balanced pairs (the balance stage's output)")
    rules = settings.rules
    out = settings.out.rstrip("/")
    lists_key = check_lists_and_sets(rules, out)
    chunks = plan_chunks(files, settings.chunk_rows, salt=rules.work_key() + lists_key)
    # samples/, status/ and eval_matches/ are recomputed from work/ on every run; work/ is what resumes.
    replace_outputs(
        out,
        "download",
        ("samples", "status", "eval_matches"),
        ("samples", "status", "eval_matches", "work/fetched", "work/outcomes", "work/eval_matches"),
    )
    total = sum(chunk.rows for chunk in chunks)
    where = f"{counted(len(chunks), 'chunk')} from {counted(len(files), 'file')}"
    print(f"[download] {counted(total, 'pair')} in {where} -> {out}", flush=True)
    progress = Progress("chunks fetched", len(chunks), files_in(f"{out}/work/outcomes/*.parquet"))
    report, seconds = run_pipeline(
        "download", lambda pipeline: build_pipeline(pipeline, chunks, rules, out, unreadable), beam_args, out, progress
    )
    statuses = ", ".join(f"{name} {count:,}" for name, count in report["statuses"].items())
    print(
        f"[download] {report['ok']:,} of {report['pairs_in']:,} images kept in {seconds:.1f}s "
        f"({counted(report['chunks_resumed'], 'chunk')} resumed); {statuses}"
    )
    check_reached(report, out, settings.unreachable_share)  # a failing stage says only its one line
    warn_skipped("download", report["unreadable_files"])
    return 0


UNREACHABLE = ("connection_error", "timeout")  # the statuses of a URL whose host never answered
# What to look at when one status took every URL.
ADVICE = {
    "private_address": "loopback and private addresses are refused (--allow-private-network: for a test web only)",
    "blocked_url": "every URL's scheme or port was refused (--allowed-ports)",
    "opted_out": "every site opted out; see the report's opt-out section",
}


def check_reached(report: dict, out: str, share: float) -> None:
    """Fail (``StageFailed``) when no image was kept, or when more than ``share`` of the URLs
    could not be reached, naming the hosts that did not answer: a web that is down, or a run
    offline, must not pass for a download that found nothing worth keeping."""
    from wit_builder.errors import StageFailed
    from wit_builder.kept_checks import biggest, require_kept
    from wit_builder.report.download_section import unreachable_hosts

    statuses = {name: n for name, n in report["statuses"].items() if name != "ok"}
    fetched = report["status_rows"]
    unreached = {name: statuses[name] for name in UNREACHABLE if statuses.get(name)}
    biggest_reason = max(statuses, key=statuses.get, default=None)
    advice = ADVICE.get(biggest_reason, "see stats.json")
    if unreached:
        hosts = ", ".join(f"{host} ({n:,})" for host, n, _ in unreachable_hosts(out, UNREACHABLE, top=3))
        advice = f"not reached: {hosts}; is the web up? (once it is: wit-builder run --from download)"
    require_kept(report["ok"], fetched, statuses, "images", advice)
    if fetched and share < 1 and sum(unreached.values()) > share * fetched:
        raise StageFailed(
            f"{sum(unreached.values()):,} of {fetched:,} URLs could not be reached ({biggest(unreached)}), more "
            f"than --unreachable-share {share:g} of them; {advice}"
        )
