"""``wit-builder demo`` and ``wit-builder world``: the chain on the synthetic world.

The demo writes a synthetic world, serves its web on loopback while the chain runs (the
download stage fetches from it), and says what each stage did and where its output is.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from wit_builder import stages
from wit_builder.atomic import write_atomically
from wit_builder.chain import StepResult, format_results, run_chain
from wit_builder.io.unchanged_files import unchanged_mtimes_kept
from wit_builder.synthetic import SyntheticWorld, WorldConfig, WorldLayout
from wit_builder.synthetic.planted import PlantedSet
from wit_builder.synthetic.web import SyntheticWeb
from wit_builder.wording import counted

DEMO_OUT = "runs/demo"
TRAIN = {"model": "tiny", "batch_size": 32, "steps": 200, "lr": 1e-3, "warmup": 20, "workers": 1,
         "log_every_n_steps": 20, "save_every_n_steps": 100}  # fmt: skip


def evaluation_paths(world_root: Path) -> dict[str, str]:
    """Where ``write_evaluation_sets`` puts the held-out sets, as ``[train]`` settings."""
    root = Path(world_root) / "evaluation"
    return {
        "val_data": str(root / "val"),
        "zeroshot_data": str(root / "zeroshot"),
        "templates": str(root / "templates.txt"),
    }


def write_evaluation_sets(world_root: Path, seed: int) -> dict[str, str]:
    """Held-out data the demo's model is evaluated on: shards of new scenes drawn like the web's
    (retrieval), a folder of one-colour pictures per class and prompt templates (zero-shot)."""
    from wit_builder.shard.cli import run as shard
    from wit_builder.shard.settings import ShardRules, ShardSettings
    from wit_builder.synthetic.scene_pool import write_scene_pool, write_templates, write_zeroshot_folder

    paths = evaluation_paths(world_root)
    pool = write_scene_pool(Path(world_root) / "evaluation" / "val_pool", 400, files=2, seed=seed + 1000)
    settings = ShardSettings(samples=(str(pool),), out=paths["val_data"], rules=ShardRules(samples_per_shard=200))
    said = io.StringIO()
    with contextlib.redirect_stdout(said):  # the shard stage's own lines are not the demo's story
        status = shard(settings, [])
    if status != 0:
        raise RuntimeError(f"the held-out shards could not be written: {said.getvalue().strip()}")
    write_zeroshot_folder(paths["zeroshot_data"], per_class=10, seed=seed)
    write_templates(paths["templates"])
    return paths


# The demo's world is worldwide: an English Wikipedia and these others (synthetic.languages), one
# with a Latin script, one Cyrillic, one written right to left, one without spaces.
WORLD_LANGUAGES = ("de", "ru", "he", "zh")


# demo --curate: the world's curation faults, and the tables that score and filter with a model
# trained first on the uncurated data (chain.run_bootstrap). The world is three times the
# demo's: on ~500 samples the bootstrapped tiny model tells misaligned captions from the rest
# poorly (AUC 0.70), on ~1,000 well (0.84). Its image embeddings crowd together (half the
# samples have a neighbour above cosine 0.998), so SemDeDup with it would drop nearly every
# sample: it is left off here, and the proof measures what it would have done.
CURATE_WORLD = {"misaligned_share": 0.3, "near_copy_groups": 20, "near_copies": 4}
CURATE_SCALE = 3
CURATE_TABLES = {"embed": {"model": "bootstrap"}, "curate": {"clip_score_top": 0.7, "no_semantic_dedup": True}}


def demo_config(world_root: Path, train: bool = True, curate: bool = False) -> dict[str, Any]:
    """The chain config for a world written at ``world_root``: its sources, thresholds sized for
    a small dump, and (``train``) a short CPU training of the tiny model, evaluated on held-out
    sets. ``pipelines/demo.toml`` is this config written out (a test keeps them equal)."""
    layout = WorldLayout.at(world_root)
    planted = PlantedSet.layout(layout.planted_dir)
    tables: dict[str, dict[str, Any]] = {
        "queries": {
            "wiki_dump": layout.wiki_dump_glob,
            "pageviews": layout.pageviews_glob,
            "wordnet": str(layout.wordnet_dir),
            "wordnet_lmf": [layout.wordnet_lmf_glob],
            # PMI 30 needs billions of bigrams; on a dump of ~100k, PMI 12 over pairs seen at
            # least 3 times keeps the world's collocations and little else.
            "min_bigram_pmi": 12,
            "min_bigram_count": 3,
        },
        # The planted pictures (synthetic.planted) come in a URL list with face boxes; a URL
        # blocklist applies in harvest, the hash lists and the evaluation set in download.
        "harvest": {
            "wat": layout.wat_glob,
            "pairs": [str(layout.pairs_dir / "*"), str(planted.pairs)],
            "blocklist": [str(planted.blocklists["demo-urls"])],
        },
        "balance": {"per_query": 50},
        "download": {
            # The world's web is on loopback, which the download stage refuses unless told.
            "allow_private_network": True,
            "read_timeout": 2.0,
            "retries": 1,
            "blocklist": [str(planted.blocklists[name]) for name in ("demo-sha256", "demo-md5", "demo-pdq")],
            "eval_sets": [f"planted-eval={planted.eval_set}"],
        },
    }
    # Every stage of the chain (``wit_builder.stages``), with its defaults unless set above.
    config = {stage.name: tables.get(stage.name, {}) for stage in stages.chain() if not stage.optional}
    if train:
        config["train"] = {**TRAIN, **evaluation_paths(world_root)}
    if curate:
        config |= {stage: dict(table) for stage, table in CURATE_TABLES.items()}
    return config


def demo_toml() -> str:
    """``pipelines/demo.toml``: the demo's config, for ``wit-builder run``."""
    from wit_builder.stage_settings import format_toml

    header = (
        "# The demo's chain: what `make demo` (wit-builder demo) runs on the synthetic world. Written from\n"
        "# wit_builder/demo.py (demo_config), and a test keeps the two equal. To run it by hand:\n"
        f"#   wit-builder world --out {DEMO_OUT}/world --serve    # writes and serves the world; leave it running\n"
        "#   wit-builder run --config pipelines/demo.toml        # in another terminal\n"
    )
    return header + format_toml({"out": f"{DEMO_OUT}/run", **demo_config(Path(DEMO_OUT) / "world")})


def _describe_world(layout: WorldLayout, world: SyntheticWorld, base_urls: list[str]) -> str:
    catalog = world.catalog
    return "\n".join(
        [
            f"  wiki dump   {layout.wiki_dump_glob}  ({len(world.wiki_pages)} pages)",
            f"  pageviews   {layout.pageviews_glob}",
            f"  wordnet     {layout.wordnet_dir}, {layout.wordnet_lmf_glob}",
            f"  languages   en, {', '.join(world.config.languages)}" if world.config.languages else "  languages   en",
            f"  WAT files   {layout.wat_glob}  ({sum(len(p.images) for p in catalog.pages)} image links)",
            f"  URL lists   {layout.pairs_dir}/",
            f"  web         {', '.join(base_urls)}  ({len(catalog.images)} images, {len(catalog.pages)} pages)",
        ]
    )


def demo_command(args, beam_args: Sequence[str]) -> int:
    from wit_builder.demo_settings import DemoSettings
    from wit_builder.io.folder_lock import lock_out
    from wit_builder.stage_settings import from_flags

    settings = from_flags(DemoSettings, args)
    out = Path(settings.out)
    lock_out(str(out))  # one demo per folder at a time; the run inside locks OUT/run too
    world_config = WorldConfig.scaled(settings.scale, seed=settings.seed, languages=WORLD_LANGUAGES)
    if settings.curate:
        if not settings.train:
            from wit_builder.errors import UsageError

            raise UsageError("--curate trains the scoring model and the curated one: it cannot go with --no-train")
        world_config = replace(
            WorldConfig.scaled(settings.scale * CURATE_SCALE, seed=settings.seed, languages=WORLD_LANGUAGES),
            **CURATE_WORLD,
        )
    world = SyntheticWorld(world_config)
    started = time.monotonic()
    # The run's stage keys know the sources by path; a world of another seed or scale written
    # over the same paths must not pass for the one the finished stages were built from.
    previous = out / "world" / "world.json"
    config_now = json.loads(json.dumps(world.config.to_dict()))
    other_world = previous.exists() and json.loads(previous.read_text())["config"] != config_now
    with _serve(world, settings.port, out / "world") as web:
        layout = world.write(out / "world", web.base_urls)
        if settings.train:
            with unchanged_mtimes_kept(out / "world" / "evaluation"):
                write_evaluation_sets(out / "world", settings.seed)
        seconds = time.monotonic() - started
        print(f"[demo] synthetic world (seed {settings.seed}, scale {settings.scale}) written in {seconds:.1f}s:")
        print(_describe_world(layout, world, web.base_urls), flush=True)
        config = demo_config(out / "world", settings.train, settings.curate)
        results = run_chain(config, str(out / "run"), beam_args, "queries" if other_world else None)
    print("\n[demo] the chain:")
    print(format_results(results))
    if settings.curate and any(r.stage == "train" and r.outcome in ("done", "up to date") for r in results):
        _prove_curation(out, config, settings.proof_seeds)
    if any(r.stage == "shard" and r.outcome in ("done", "up to date") for r in results):
        print(_takedown_after_publication(out, web.base_urls))
    print(_closing_words(results, out))
    return 0


def _prove_curation(out: Path, config: dict, seeds: int) -> None:
    """The filters against the world's truth, and the R@1 gain over ``seeds`` seeds
    (``curation_proof``); printed, written beside the run and shown in its report."""
    from wit_builder.chain import chain_settings
    from wit_builder.curation_proof import (
        dry_dedup_scores,
        filter_scores,
        gain_over_seeds,
        proof_lines,
        proof_val_sets,
        truth_by_url,
        write_proof,
    )
    from wit_builder.report.run_page import write_run_report

    run = out / "run"
    settings = chain_settings(config, str(run))
    train, curate = settings["train"], settings["curate"]
    truth = truth_by_url(WorldLayout.at(out / "world").truth_images)
    filters = filter_scores(run, truth)
    if not curate.semantic_dedup:  # what SemDeDup would have done with this model, at its default ε
        filters["semantic_dedup_not_applied"] = dry_dedup_scores(run, truth, curate.dedup_epsilon)
    val_sets = proof_val_sets(out / "world", train.seed)
    gain = gain_over_seeds(run, train, [train.seed + k for k in range(seeds)], val_sets)
    document = {"filters": filters, "gain": gain}
    write_proof(run, document)
    write_run_report(str(run))
    print(proof_lines(document), flush=True)


@contextmanager
def _serve(world: SyntheticWorld, port: int, world_dir: Path) -> Iterator[SyntheticWeb]:
    """The world's web on ``port``; with 0, on the port an earlier demo served it on when that
    one is free (its URLs, and so every stage's output, are then the same, and a finished run is
    up to date), else on any free port."""
    previous = _previous_port(world_dir) if port == 0 else None
    with ExitStack() as stack:
        web = None
        if previous is not None:
            try:
                web = stack.enter_context(world.serve(port=previous))
            except RuntimeError as error:  # taken by another program: any free port; the stages run again
                if "could not bind" not in str(error):
                    raise
        yield web if web is not None else stack.enter_context(world.serve(port=port))


def _previous_port(world_dir: Path) -> int | None:
    try:
        first = json.loads((world_dir / "world.json").read_text())["base_urls"][0]
        return int(first.rsplit(":", 1)[1])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


TAKEDOWN = "plain-1.jpg"  # the planted picture whose site owner asks for its removal


def _takedown_after_publication(out: Path, base_urls: list[str]) -> str:
    """A takedown request served on the published shards, as a site owner's would be, and the run
    report written again to list it. The same request on a later demo changes nothing."""
    from wit_builder.report.run_page import write_run_report
    from wit_builder.shard.takedown import takedown

    request = out / "world" / "planted" / "takedown-request.txt"
    write_atomically(str(request), f"# the site owner's request\n{PlantedSet.url(base_urls, TAKEDOWN)}\n")
    run = out / "run"
    why = "demo: the site owner asked for the picture's removal"
    result = takedown(str(run / "shard"), "urls", [PlantedSet.url(base_urls, TAKEDOWN)], why, "wit-builder demo")
    write_run_report(str(run))
    if result.removed:
        shards = ", ".join(result.removed)
        log = run / "shard" / "takedowns.jsonl"
        removed = counted(result.samples_removed, "sample")
        return f"[demo] takedown after publication: {removed} removed from {shards}; see {log}"
    return "[demo] takedown after publication: nothing left to remove (done by an earlier demo, or not collected)"


def _closing_words(results: list[StepResult], out: Path) -> str:
    run = out / "run"
    done = [r.stage for r in results if r.outcome in ("done", "up to date")]
    stopped = next((r for r in results if r.outcome.startswith("failed")), None)
    lines = [f"\n[demo] the world is in {out / 'world'} (world.json describes it); the run is in {run}."]
    manifest = run / "shard" / "manifest.json"
    if "shard" in done and manifest.exists():
        train_data = json.loads(manifest.read_text())["train_data"]
        lines.append(f"[demo] the shards: --train-data '{train_data}'")
    evaluation = run / "train" / "eval.json"
    if "train" in done and evaluation.exists():
        lines.append(_evaluation_summary(json.loads(evaluation.read_text())))
    elif "tokenizer" in done and "train" not in done and stopped is None:
        lines.append(
            "[demo] train the tiny model on them (CPU, about a minute):\n"
            f"  wit-train train --train-data {run / 'shard'} --tokenizer {run / 'tokenizer'} --model tiny "
            f"--batch-size 32 --steps 200 --lr 1e-3 --warmup 20 --workers 1 --out {run / 'train'}"
        )
    if stopped is not None:
        lines.append(
            f"[demo] the chain stopped at '{stopped.stage}': {stopped.outcome}. "
            "Later stages need its output, so they did not run."
        )
    lines.append(f"[demo] the run report: {run / 'report' / 'index.html'}")
    return "\n".join(lines)


def _evaluation_summary(results: dict) -> str:
    """The trained model against chance, on data it never saw."""
    lines = [f"[demo] the tiny model, evaluated on {results['n']:,} held-out scenes:"]
    chance = results["chance_R@1"]
    for name, label in (("image_to_text_R@1", "image → text R@1"), ("text_to_image_R@1", "text → image R@1")):
        lines.append(f"  {label}  {results[name]:.3f}  (chance {chance:.4f}, {results[name] / chance:,.0f}× chance)")
    if "zeroshot_top1" in results:
        lines.append(
            f"  zero-shot top-1   {results['zeroshot_top1']:.3f}  (chance {results['zeroshot_chance']:.3f}, "
            f"{results['classes']} colours)"
        )
    return "\n".join(lines)


def world_command(args, beam_args: Sequence[str]) -> int:
    from wit_builder.demo_settings import WorldSettings
    from wit_builder.io.folder_lock import lock_out
    from wit_builder.stage_settings import from_flags

    settings = from_flags(WorldSettings, args)
    lock_out(settings.out)
    world = SyntheticWorld(WorldConfig.scaled(settings.scale, seed=settings.seed, languages=WORLD_LANGUAGES))
    if settings.after_release and not settings.serve:
        from wit_builder.errors import UsageError

        raise UsageError("--after-release changes the web as it is served: add --serve")
    if not settings.serve:
        layout = world.write(settings.out, compression=settings.compression)
        print(
            f"wrote the synthetic world to {layout.root} (not served: its URLs point at {world.offline_base_urls()[0]})"
        )
        return 0
    with _serve(world, settings.port, Path(settings.out)) as web:
        layout = world.write(settings.out, web.base_urls, compression=settings.compression)
        with unchanged_mtimes_kept(Path(settings.out) / "evaluation"):
            write_evaluation_sets(Path(settings.out), settings.seed)
        print(f"wrote the synthetic world to {layout.root}; serving its web at {', '.join(web.base_urls)}")
        if settings.after_release:
            from wit_builder.synthetic.after_release import change_its_mind

            for change in change_its_mind(web):
                print(f"after the release: {change}")
        print("press Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    return 0
