"""Stages default to the embedded FnApiRunner and pass every other flag to Beam."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import GoogleCloudOptions, StandardOptions
from apache_beam.testing.util import assert_that, equal_to

from wit_builder.beam_options import (
    SAMPLER_PERIOD_MS,
    pipeline_options,
    quick_bundle_ends,
    unknown_positionals,
    with_default_runner,
)


def test_default_runner_is_fnapirunner():
    options = pipeline_options([])
    assert options.view_as(StandardOptions).runner == "FnApiRunner"


def test_named_runner_and_cloud_flags_pass_through():
    args = ["--runner=DataflowRunner", "--project", "my-project", "--region=europe-west4"]
    assert with_default_runner(args) == args
    options = pipeline_options(args)
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    cloud = options.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region) == ("my-project", "europe-west4")


def test_unknown_positionals():
    assert unknown_positionals(["--project", "p", "--region=r", "stray"]) == ["stray"]
    assert unknown_positionals(["--flag=x", "y"]) == ["y"]
    assert unknown_positionals([]) == []


def test_a_pipeline_really_runs_on_the_default_runner():
    with beam.Pipeline(options=pipeline_options([])) as pipeline:
        squares = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * x)
        assert_that(squares, equal_to([1, 4, 9]))


def test_a_bundle_ends_without_waiting_for_the_state_sampler():
    """Beam's sampler thread sleeps up to 200 ms between samples and a bundle's end joins it (after
    a 300 ms bundle Beam's own sleeps ~65 ms); with the cap, every sampler made after it sleeps
    at most SAMPLER_PERIOD_MS. Checked by the period the samplers get, not by timing them: the
    suite runs on busy machines, where a thread's wake-up can wait on other jobs."""
    from apache_beam.runners.worker import statesampler
    from apache_beam.utils.counters import CounterFactory

    assert quick_bundle_ends() and quick_bundle_ends()  # in place, and a second call changes nothing
    sampler = statesampler.StateSampler("test", CounterFactory())
    assert sampler.sampling_period_ms == SAMPLER_PERIOD_MS < statesampler.DEFAULT_SAMPLING_PERIOD_MS
    sampler.start()
    sampler.stop()  # and it still starts and stops
