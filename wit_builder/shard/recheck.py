"""``wit-builder recheck SHARDS``: a published shard set checked again against the web it came from.

Consent drifts after a release: sites add ``Disallow`` lines, declare TDM reservations, replace
or delete their images. A set checked once at collection drifts out of consent. Each sample's
provenance (the index's ``consent``, ``body_sha256`` and ``fetched_at``, recorded by download)
says what was true then; this module asks the web again and compares like with like:

- **Consent** (always): each origin's robots.txt, tdmrep.json and ai.txt are fetched again, once
  per origin, through download's own client (``Fetcher``: the address guard, redirects, the
  500 KiB limit, retries), and every sample's URL is judged by the same rules as at collection
  (``HostPolicy.refusal``), for the signals honoured then (the manifest's download figures
  say which). A robots.txt that cannot be reached now is not a withdrawal: such samples are
  ``unreachable``, checked again next time.
- **Content** (``--refetch``): each image URL is requested again, paced per host
  (``--host-interval``, or the Crawl-delay when longer): a 404 or 410 is ``gone``, another
  SHA-256 of the body is ``changed``, and an opt-out header on the response (X-Robots-Tag,
  tdm-reservation, Content-Usage) is ``opted_out``.

Every sample ends in one finding (``recheck_settings.OUTCOMES``), so the counts add up to the
set's samples. Written to ``--out``: ``drift.parquet`` (each sample that is not consented or
unchanged, with its signal and evidence), ``host_files.parquet`` (each host file as read now
beside what was recorded then), ``takedown-request.txt`` (the uids of the findings chosen by
``--remove``, as ``takedown --uids`` reads them) and ``recheck.json`` (the counts by finding,
signal and host), written last. ``--apply`` runs the takedown on the set and records it.

A kill loses at most the shard being checked: each shard's findings are kept in
``work/NNNNNN.parquet`` with a marker naming the shard's SHA-256 and the rules, and a re-run in
the same folder keeps them until the recheck finishes; a finished folder checked again is
checked afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_builder.atomic import write_atomically
from wit_builder.clock import stamp
from wit_builder.download.fetch import Fetcher, FetchResult
from wit_builder.download.host_files import HostPolicy, origin_of
from wit_builder.download.opt_out import SIGNALS
from wit_builder.errors import UsageError
from wit_builder.io.folder_lock import lock_out
from wit_builder.io.json_files import read_json, read_work_json, write_json
from wit_builder.progress import Progress, files_in, live_progress
from wit_builder.schemas import damage_named, parquet_writer, read_table, table_from_rows, write_table
from wit_builder.shard.recheck_settings import DRIFT, OUTCOMES, RecheckSettings
from wit_builder.shard.takedown import shard_folder, takedown

REQUEST = "takedown-request.txt"
SUMMARY = "recheck.json"
HOSTS_LISTED = 1_000  # hosts named in recheck.json (most findings first); drift.parquet has all
HEADER_SIGNALS = frozenset({"x-robots-tag"})  # read only from an image's response
NEVER_RECHECKED = frozenset({"meta"})  # read from the page harvest saw, which is not requested again
NO_DRIFT = ("consented", "unchanged")
_INDEX_COLUMNS = ("key", "uid", "url", "body_sha256", "fetched_at", "consent")


@dataclass
class RecheckResult:
    """What ``recheck`` wrote: the folder, its summary, and the takedown's result if applied."""

    out: str
    summary: dict


def default_out(folder: str) -> str:
    """``recheck/20261206T142536Z`` beside the shard folder (``-2``, ``-3``... after it when a
    re-check in the same second took it): each re-check keeps its own folder."""
    parent = folder.rstrip("/").rsplit("/", 1)[0] if "/" in folder.rstrip("/") else "."
    base = f"{parent}/recheck/{stamp().replace('-', '').replace(':', '')}"
    filesystem, _ = fsspec.core.url_to_fs(base)
    out, number = base, 1
    while filesystem.exists(out):
        number += 1
        out = f"{base}-{number}"
    return out


def honoured_signals(manifest: dict, ignored: frozenset[str]) -> tuple[list[str], list[str]]:
    """(the signals honoured now, those ignored): the download's at collection (every signal
    when the set does not say), less ``ignored``."""
    opt_out = (((manifest.get("upstream") or {}).get("download") or {}).get("stats") or {}).get("opt_out") or {}
    then = set(opt_out.get("honoured", SIGNALS))
    return sorted(then - ignored), sorted(set(SIGNALS) - (then - ignored))


def recheck(spec: str, settings: RecheckSettings) -> RecheckResult:
    """Check the shard set at ``spec`` (its folder or manifest) again; see the module's docstring."""
    import time

    started = time.monotonic()
    if not settings.apply and (settings.reason or settings.by):
        raise UsageError("--reason and --by describe the takedown that --apply makes: add --apply, or leave them out")
    folder = shard_folder(spec)
    manifest = read_json(f"{folder}/manifest.json", "manifest")
    out = (settings.out or default_out(folder)).rstrip("/")
    lock_out(out)
    honoured, ignored = honoured_signals(manifest, settings.fetch.ignore_opt_out)
    fetch = replace(settings.fetch, ignore_opt_out=frozenset(SIGNALS) - set(honoured))
    key = _rules_key(settings, honoured)
    filesystem, _ = fsspec.core.url_to_fs(out)
    if filesystem.exists(f"{out}/{SUMMARY}"):  # a finished re-check: this one starts afresh
        for path in filesystem.glob(f"{out}/work/[0-9]*[0-9].*"):  # only its own work files
            filesystem.rm(path)
    filesystem.makedirs(f"{out}/work", exist_ok=True)
    shards = manifest["shards"]
    progress = Progress("shards", len(shards), files_in(f"{out}/work/[0-9]*.json"))
    with live_progress("recheck", progress):
        resumed = asyncio.run(_check_shards(folder, out, shards, fetch, settings, key))
    summary = _summarise(folder, out, manifest, settings, honoured, ignored, resumed)
    summary["seconds"] = round(time.monotonic() - started, 3)
    write_json(f"{out}/{SUMMARY}", summary, ensure_ascii=False, schema="recheck")
    if settings.apply:
        summary["applied"] = _apply(folder, out, summary, settings)
        write_json(f"{out}/{SUMMARY}", summary, ensure_ascii=False, schema="recheck")
    return RecheckResult(out, summary)


def _rules_key(settings: RecheckSettings, honoured: list[str]) -> str:
    """What decides a finding: a shard's kept findings are reused only under the same."""
    fetch = settings.fetch
    deciding = {
        "refetch": settings.refetch,
        "honoured": honoured,
        "user_agent": fetch.user_agent,
        "directives": list(fetch.disallowed_directives),
        "private": fetch.allow_private_network,
        "ports": sorted(fetch.allowed_ports) if fetch.allowed_ports else None,
        "max_bytes": fetch.max_bytes,
        "max_redirects": fetch.max_redirects,
    }
    return hashlib.sha256(json.dumps(deciding, sort_keys=True).encode()).hexdigest()[:16]


def _stem(shard: dict) -> str:
    return shard["name"].removesuffix(".tar")


async def _check_shards(folder: str, out: str, shards: list[dict], fetch, settings: RecheckSettings, key: str) -> int:
    """Check each shard not already checked under ``key``; returns how many were kept from a
    killed run."""
    filesystem, _ = fsspec.core.url_to_fs(out)
    resumed = 0
    written_origins: set[str] = set()
    async with Fetcher(fetch) as fetcher:
        fetcher.host_files.min_interval = settings.host_interval
        slots = asyncio.Semaphore(fetch.concurrency)
        for shard in shards:
            marker = f"{out}/work/{_stem(shard)}.json"
            done = read_work_json(marker) if filesystem.exists(marker) else None
            if isinstance(done, dict) and done.get("key") == key and done.get("shard_sha256") == shard["sha256"]:
                resumed += 1
                continue
            index = _read_index(f"{folder}/{shard['index']}")

            async def check(row: dict, name: str) -> dict:
                async with slots:
                    return await _check_sample(fetcher, row, name, settings.refetch)

            rows = await asyncio.gather(*(check(row, shard["name"]) for row in index))
            write_table(table_from_rows(list(rows), "recheck"), f"{out}/work/{_stem(shard)}.parquet", "recheck")
            policies = fetcher.host_files.policies()
            fresh = {origin: policy for origin, policy in policies.items() if origin not in written_origins}
            write_table(_host_file_table(fresh), f"{out}/work/{_stem(shard)}.hosts.parquet", "recheck_host_files")
            written_origins.update(fresh)
            write_json(marker, {"key": key, "shard_sha256": shard["sha256"], "samples": len(rows)})
    return resumed


def _read_index(path: str) -> list[dict]:
    """The index columns a re-check needs; the provenance ones are null in sets written before them."""
    filesystem, _ = fsspec.core.url_to_fs(path)
    with filesystem.open(path, "rb") as handle, damage_named(path):
        present = pq.read_schema(handle).names
        handle.seek(0)
        table = pq.read_table(handle, columns=[c for c in _INDEX_COLUMNS if c in present])
    rows = table.to_pylist()
    for row in rows:
        for column in _INDEX_COLUMNS:
            row.setdefault(column, None)
    return rows


def _row(sample: dict, shard: str, finding: str, **found) -> dict:
    return {
        "uid": sample["uid"], "key": sample["key"], "shard": shard, "url": sample["url"],
        "origin": origin_of(sample["url"]), "finding": finding, "signal": found.get("signal"),
        "evidence": found.get("evidence"), "http_status": found.get("http_status"),
        "body_sha256_then": sample["body_sha256"], "body_sha256_now": found.get("now"),
        "fetched_at": sample["fetched_at"], "checked_at": stamp(),
    }  # fmt: skip


def _robots_unreachable(policy: HostPolicy) -> bool:
    return policy.robots is not None and policy.robots.status == "unreachable"


async def _check_sample(fetcher: Fetcher, sample: dict, shard: str, refetch: bool) -> dict:
    """One sample's finding: its consent by the host files, then (``refetch``) its URL's answer."""
    url = sample["url"]
    if fetcher.host_files.needed:
        policy = await fetcher.host_files.policy(url)
        if policy.no_response and fetcher.settings.honours("robots"):
            return _row(sample, shard, "unreachable", evidence=policy.no_response)
        if refusal := policy.refusal(url):
            if refusal.signal == "robots" and _robots_unreachable(policy):
                # Not a withdrawal: the other files may still refuse; else checked again next time.
                other = replace(policy, robots=None).refusal(url)
                if other is None:
                    return _row(sample, shard, "unreachable", evidence=refusal.evidence)
                refusal = other
            return _row(sample, shard, "opted_out", signal=refusal.signal, evidence=refusal.evidence)
    if not refetch:
        return _row(sample, shard, "consented")
    finding, found = await _content_finding(fetcher, sample, await fetcher.fetch(url))
    return _row(sample, shard, finding, **found)


async def _content_finding(fetcher: Fetcher, sample: dict, result: FetchResult) -> tuple[str, dict]:
    """What the URL's answer now says of the sample: unchanged, changed, gone, opted out (by a
    header, or by a redirect hop's host files) or unreachable."""
    found: dict = {"http_status": result.http_status}
    if result.status == "fetched":
        now = hashlib.sha256(result.body or b"").hexdigest()
        then = sample["body_sha256"]
        if then is not None and now != then:
            return "changed", {**found, "now": now, "evidence": f"SHA-256 {then[:12]}… then, {now[:12]}… now"}
        return ("unchanged" if then is not None else "consented"), {**found, "now": now}
    if result.status == "opted_out":
        policy = await fetcher.host_files.policy(result.final_url or sample["url"])
        if result.signal == "robots" and _robots_unreachable(policy):
            return "unreachable", {**found, "evidence": result.evidence}
        return "opted_out", {**found, "signal": result.signal, "evidence": result.evidence}
    if result.status == "http_error" and result.http_status in (404, 410):
        return "gone", {**found, "evidence": f"HTTP {result.http_status} from {result.final_url or sample['url']}"}
    if result.status == "too_large":
        return "changed", {**found, "evidence": result.error}
    return "unreachable", {**found, "evidence": f"{result.status}: {result.error}"}


def _host_file_table(policies: dict[str, HostPolicy]) -> pa.Table:
    rows = [
        {**file.as_dict(), "origin": origin, "outcome_then": None, "sha256_then": None, "changed": False}
        for origin, policy in sorted(policies.items())
        for file in policy.files
    ]
    return table_from_rows(rows, "recheck_host_files")


def _work_tables(out: str, pattern: str) -> Iterator[pa.Table]:
    filesystem, _ = fsspec.core.url_to_fs(out)
    for path in sorted(filesystem.glob(f"{out}/work/{pattern}")):
        yield read_table(path, "recheck_host_files" if path.endswith(".hosts.parquet") else "recheck")


def _recorded_then(folder: str, shards: list[dict]) -> dict[tuple[str, str], Counter]:
    """Per (origin, host file), how the samples' provenance recorded it at collection: a count
    of each (outcome, sha256)."""
    then: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for shard in shards:
        for row in _read_index(f"{folder}/{shard['index']}"):
            for entry in _consent_entries(row["consent"]):
                then[(origin_of(entry["url"]), entry["file"])][(entry["outcome"], entry.get("sha256"))] += 1
    return then


def _consent_entries(text: str | None) -> list[dict]:
    """The host-file records of a sample's ``consent``; none when it holds none, or when it was
    damaged (a file then counts as not recorded, never as changed)."""
    try:
        entries = json.loads(text) if text else []
    except ValueError:
        return []
    wanted = ("url", "file", "outcome")
    return [e for e in entries if isinstance(e, dict) and all(isinstance(e.get(k), str) for k in wanted)] if isinstance(
        entries, list) else []  # fmt: skip


def _host_files(folder: str, out: str, shards: list[dict]) -> tuple[pa.Table, dict]:
    """Every host file read (the first record of each), beside what was recorded then."""
    seen: dict[tuple[str, str], dict] = {}
    for table in _work_tables(out, "*.hosts.parquet"):
        for row in table.to_pylist():
            seen.setdefault((row["origin"], row["file"]), row)
    then = _recorded_then(folder, shards)
    by_file: dict[str, Counter] = defaultdict(Counter)
    for (origin, name), row in seen.items():
        records = then.get((origin, name))
        if records:
            (outcome, digest), _ = records.most_common(1)[0]
            row.update(outcome_then=outcome, sha256_then=digest)
            # A file that cannot be reached now has not changed its mind: it is counted as unreachable.
            row["changed"] = row["outcome"] != "unreachable" and (row["outcome"], row["sha256"]) not in records
        by_file[name][row["outcome"]] += 1
        by_file[name]["changed"] += int(row["changed"])
    rows = [seen[key] for key in sorted(seen)]
    summary = {
        "origins": len({origin for origin, _ in seen}),
        "changed": sum(int(row["changed"]) for row in rows),
        "by_file": {name: dict(sorted(counts.items())) for name, counts in sorted(by_file.items())},
        "changed_files": [
            {key: row[key] for key in ("origin", "file", "outcome_then", "sha256_then", "outcome", "sha256")}
            for row in rows
            if row["changed"]
        ][:HOSTS_LISTED],
    }
    return table_from_rows(rows, "recheck_host_files"), summary


def _summarise(
    folder: str, out: str, manifest: dict, settings: RecheckSettings, honoured: list[str], ignored: list[str],
    resumed: int,
) -> dict:  # fmt: skip
    """drift.parquet, host_files.parquet and the takedown request from the shards' findings;
    the counts for recheck.json."""
    findings: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
    by_signal: Counter[str] = Counter()
    per_host: dict[str, Counter] = defaultdict(Counter)
    unrecorded = 0
    removed: set[str] = set()
    with parquet_writer(f"{out}/drift.parquet", "recheck") as write_drift:
        for table in _work_tables(out, "[0-9]*[0-9].parquet"):
            for row in table.to_pylist():
                finding = row["finding"]
                findings[finding] += 1
                per_host[row["origin"]]["samples"] += 1
                unrecorded += row["body_sha256_then"] is None
                if finding in NO_DRIFT:
                    continue
                per_host[row["origin"]][finding] += 1
                if finding == "opted_out":
                    by_signal[row["signal"]] += 1
                if finding in settings.remove:
                    removed.add(row["uid"])
            write_drift(table.filter(pc.invert(pc.is_in(table.column("finding"), value_set=pa.array(NO_DRIFT)))))
    host_table, host_summary = _host_files(folder, out, manifest["shards"])
    write_table(host_table, f"{out}/host_files.parquet", "recheck_host_files")
    checked_at = stamp()
    _write_request(f"{out}/{REQUEST}", folder, checked_at, sorted(settings.remove), sorted(removed))
    samples = sum(findings.values())
    hosts = [{"origin": origin, **counts} for origin, counts in per_host.items() if len(counts) > 1]
    hosts.sort(key=lambda host: (-sum(host.get(finding, 0) for finding in OUTCOMES), host["origin"]))
    not_rechecked = set(honoured) & NEVER_RECHECKED
    if not settings.refetch:
        not_rechecked |= set(honoured) & HEADER_SIGNALS
    with fsspec.open(f"{folder}/manifest.json", "rb") as handle:
        manifest_sha256 = hashlib.sha256(handle.read()).hexdigest()
    return {
        "shards": folder,
        "manifest_sha256": manifest_sha256,
        "checked_at": checked_at,
        "refetched": settings.refetch,
        "signals": {"honoured": honoured, "not_rechecked": sorted(not_rechecked), "ignored": ignored},
        "samples": samples,
        "findings": dict(findings),
        "adds_up": samples == manifest["totals"]["samples"],
        "drift": sum(findings[finding] for finding in DRIFT),
        "opted_out_by_signal": dict(sorted(by_signal.items())),
        "by_host": hosts[:HOSTS_LISTED],
        "hosts_not_listed": max(0, len(hosts) - HOSTS_LISTED),
        "content_unrecorded": unrecorded,
        "host_files": host_summary,
        "takedown_request": {"file": REQUEST, "findings": sorted(settings.remove), "samples": len(removed)},
        "applied": None,
        "shards_resumed": resumed,
        "rules": {"host_interval": settings.host_interval, "user_agent": settings.fetch.user_agent},
    }


def _write_request(path: str, folder: str, checked_at: str, chosen: list[str], uids: list[str]) -> None:
    """The uids to take down, as ``wit-builder takedown --uids`` reads them, with a header
    saying where they came from."""
    header = [
        f"# wit-builder recheck of {folder} at {checked_at}",
        f"# the samples found {', '.join(chosen)}: {len(uids):,}",
        f"# apply with: wit-builder takedown {folder} --uids {path} --reason TEXT",
    ]
    write_atomically(path, ("\n".join([*header, *uids]) + "\n").encode("utf-8"))


def default_reason(summary: dict) -> str:
    """``recheck 2026-12-06T14:25:36Z: opted_out 3 (robots 2, tdmrep 1), gone 1``."""
    parts = []
    for finding in summary["takedown_request"]["findings"]:
        count = summary["findings"].get(finding, 0)
        if not count:
            continue
        signals = summary["opted_out_by_signal"] if finding == "opted_out" else {}
        detail = f" ({', '.join(f'{signal} {n}' for signal, n in signals.items())})" if signals else ""
        parts.append(f"{finding} {count}{detail}")
    return f"recheck {summary['checked_at']}: {', '.join(parts)}"


def _apply(folder: str, out: str, summary: dict, settings: RecheckSettings) -> dict:
    """Take the requested samples down; what was removed, for recheck.json."""
    from wit_builder.shard.takedown import read_request

    if not summary["takedown_request"]["samples"]:
        return {"samples_removed": 0, "reason": None, "shards": []}
    path = f"{out}/{REQUEST}"
    reason = settings.reason or default_reason(summary)
    result = takedown(folder, "uids", read_request(path, "uids"), reason, settings.by, request_file=path)
    return {"samples_removed": result.samples_removed, "reason": reason, "shards": sorted(result.removed),
            "not_found": result.not_found}  # fmt: skip
