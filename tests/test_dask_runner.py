"""Beam's DaskRunner, tried on a dask.distributed LocalCluster of 2 workers: it cannot run the
stages. Every stage's DoFns count through tagged outputs (``with_outputs("stats", ...)``), and
the DaskRunner of Beam 2.77 sends every element of a multi-output ParDo to each of its outputs,
so the first stage's ``SumStats`` receives dump pages ("unsupported operand type(s) for +:
'int' and 'Page'"). The first test shows the runner's behaviour on four lines of Beam; when it
fails, Beam has fixed the runner and the stages should be tried on it again. The stages refuse
the runner before running, in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from wit_builder.cli import main

REPRODUCTION = textwrap.dedent(
    """
    import json, os, sys
    import apache_beam as beam
    from apache_beam import pvalue
    from apache_beam.options.pipeline_options import PipelineOptions
    from distributed import LocalCluster

    def split(x):
        yield pvalue.TaggedOutput("odd", x) if x % 2 else x

    def save(name):
        return lambda xs: open(os.path.join(sys.argv[1], name), "w").write(json.dumps(sorted(xs)))

    if __name__ == "__main__":
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            os.environ["DASK_SCHEDULER_ADDRESS"] = cluster.scheduler_address
            options = PipelineOptions(["--runner=apache_beam.runners.dask.dask_runner.DaskRunner"])
            with beam.Pipeline(options=options) as p:
                out = p | beam.Create(range(6)) | beam.FlatMap(split).with_outputs("odd", main="even")
                out.even | "E" >> beam.combiners.ToList() | "SaveE" >> beam.Map(save("even.json"))
                out.odd | "O" >> beam.combiners.ToList() | "SaveO" >> beam.Map(save("odd.json"))
    """
)


@pytest.mark.slow
def test_the_dask_runner_still_sends_every_element_to_every_output(tmp_path):
    pytest.importorskip("distributed")
    script = tmp_path / "reproduce.py"
    script.write_text(REPRODUCTION)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    odd = json.loads((tmp_path / "odd.json").read_text())
    # FnApiRunner gives [1, 3, 5]. If this fails, Beam fixed the DaskRunner: try the stages on it.
    assert odd == [0, 1, 2, 3, 4, 5]
    assert not os.path.exists(tmp_path / "even.json") or json.loads((tmp_path / "even.json").read_text()) != [0, 2, 4]


def test_the_stages_refuse_the_dask_runner_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["queries", "--wiki-dump", "x", "--out", str(tmp_path), "--runner=DaskRunner"])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--runner=DaskRunner" in error and "multi-output ParDo" in error and "PortableRunner" in error
