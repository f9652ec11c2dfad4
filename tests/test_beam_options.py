"""Stages default to the embedded FnApiRunner and pass every other flag to Beam."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import GoogleCloudOptions, StandardOptions
from apache_beam.testing.util import assert_that, equal_to

from wit_builder.beam_options import pipeline_options, unknown_positionals, with_default_runner


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
