"""`tracking:` is checked at load (an unknown backend names the key and the known ones; a
missing package names the extra to install), before anything runs; a study fills each
training grid's tracking with its own project and `<out>/tracking/`."""

from __future__ import annotations

import json

import pytest
from cli_helpers import SAMPLE, in_process, one_line_error

from ftbench.core import tracking
from ftbench.core.io import InputError
from ftbench.core.tracking import TrackingConfig


def _study_yaml(path, out, extra=""):
    path.write_text(f"name: s\nout_dir: {out}\ndata:\n  source: {SAMPLE}\n  sizes: [16]\n"
                    f"  test_size: 16\nmodels:\n  - {{name: t, path: tiny}}\n{extra}")
    return path


@pytest.mark.parametrize("args", [
    ("--tracking", "tensorbord"), ("tracking=tensorboard,comet",),
    ("tracking={backends: [mlflow]}",),
])
def test_an_unknown_backend_is_one_line_naming_the_known_ones(tmp_path, capsys, args):
    out = tmp_path / "study"
    config = _study_yaml(tmp_path / "c.yaml", out)
    line = one_line_error(in_process(capsys, "study", config, *args), "tracking",
                          "known: tensorboard, trackio, wandb")
    assert "unknown tracking backend" in line
    assert not out.exists()


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(tracking.BACKENDS, "trackio", "ftbench_no_such_tracker_module")
    with pytest.raises(InputError, match=r"'tracking.backends'.*trackio.*needs the "
                                         r"ftbench_no_such_tracker_module package: "
                                         r"pip install 'ftbench\[tracking\]'"):
        TrackingConfig(backends="tensorboard,trackio")


def test_the_command_option_names_itself(tmp_path):
    with pytest.raises(InputError, match="^--tracking: unknown tracking backend 'tb'"):
        tracking.from_option("tb", "p", tmp_path / "results")


def test_a_study_gives_its_grids_its_project_and_tracking_dir(tmp_path):
    from ftbench.pipelines.study_config import load_study_config

    out = tmp_path / "study"
    cfg = load_study_config(_study_yaml(tmp_path / "c.yaml", out, "tracking: tensorboard,trackio\n"))
    assert cfg.tracking.project == "s" and cfg.tracking.dir == str((out / "tracking").resolve())
    for train in cfg.train_configs():
        assert train.tracking == cfg.tracking
    with pytest.raises(InputError, match="'train.tracking' is set by the study itself"):
        load_study_config(_study_yaml(tmp_path / "d.yaml", out, "train: {tracking: trackio}\n"))


def test_trainer_arguments_follow_the_config(tmp_path):
    cfg = TrackingConfig(backends=["trackio", "tensorboard"]).resolved("study", tmp_path / "runs")
    assert tracking.trainer_args(None, "r") == {"report_to": []}
    assert tracking.trainer_args(cfg, "r") == {"report_to": ["trackio", "tensorboard"],
                                               "run_name": "r", "project": "study"}
    assert cfg.tensorboard_dir("r") == tmp_path / "tracking" / "tensorboard" / "r"


def test_the_option_wins_over_a_one_value_tracking_key(tmp_path, capsys):
    """`tracking: tensorboard` in the file and `--tracking trackio`: the study runs (it was an
    override error) with the option's backends; the file's other keys stay."""
    from ftbench.cli.arg_types import tracking_override
    from ftbench.pipelines.study_config import load_study_config

    out = tmp_path / "study"
    config = _study_yaml(tmp_path / "c.yaml", out, "tracking: tensorboard\n")
    outcome = in_process(capsys, "study", config, "--tracking", "trackio", "--only", "data")
    assert outcome.rc == 0, outcome.err
    assert (out / "data" / "train_16.jsonl").is_file()
    cfg = load_study_config(config, tracking_override([], "trackio"))
    assert cfg.tracking.backends == ["trackio"] and cfg.tracking.project == "s"
    cfg = load_study_config(config, ["tracking.project=other"])  # a dotted key merges in
    assert cfg.tracking.backends == ["tensorboard"] and cfg.tracking.project == "other"
    mapping = _study_yaml(tmp_path / "m.yaml", out,
                          "tracking: {backends: tensorboard, project: mine, dir: /t}\n")
    cfg = load_study_config(mapping, tracking_override([], "trackio,tensorboard"))
    assert (cfg.tracking.backends, cfg.tracking.project, cfg.tracking.dir) == (
        ["trackio", "tensorboard"], "mine", "/t")


def test_the_option_wins_in_a_training_config(tmp_path):
    from ftbench.cli.arg_types import tracking_override
    from ftbench.core.paths import CONFIGS_DIR
    from ftbench.train.config import load_config

    path = tmp_path / "train.yaml"
    path.write_text((CONFIGS_DIR / "train_tiny_lora.yaml").read_text()
                    + "tracking: [tensorboard]\n")
    cfg = load_config(path, tracking_override(["tracking.project=p"], "trackio"))
    assert cfg.tracking.backends == ["trackio"] and cfg.tracking.project == "p"
    with pytest.raises(InputError, match="config key 'lora' is not a group"):
        path.write_text("lora: 8\n")
        load_config(path, ["lora.r=4"])  # a group with no one-value form stays an error


def test_eval_option_keeps_the_studys_project_and_dir(tmp_path):
    study = TrackingConfig(backends="tensorboard", project="mine", dir=str(tmp_path / "t"))
    assert tracking.from_option(None, "s", tmp_path / "results", study) is study
    chosen = tracking.from_option("trackio", "s", tmp_path / "results", study)
    assert (chosen.backends, chosen.project, chosen.dir) == (["trackio"], "mine",
                                                             str(tmp_path / "t"))
    alone = tracking.from_option("trackio", "ftbench", tmp_path / "results")
    assert alone.dir == str(tmp_path / "tracking") and alone.project == "ftbench"


def test_wandb_offline_holds_metrics_tables_and_images(tmp_path):
    """W&B in offline mode, read back from the run file it wrote: the metrics, a table and an
    image under the model's run (id and name), in the study's project and group."""
    pytest.importorskip("wandb")
    from PIL import Image
    from wandb_records import offline_runs

    png = tmp_path / "plot.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(png)
    cfg = TrackingConfig(backends="wandb").resolved("my-study", tmp_path / "results")
    tracking.log_run(cfg, "tiny-llama-16", {"eval/bmw_type/acc": 0.3125},
                     tables={"report/models": [{"model": "tiny-llama-16", "score": 0.167}]},
                     images={"report/plots/ranking": png})
    (info, history), = offline_runs(tmp_path / "tracking" / "wandb")
    assert info == {"id": "tiny-llama-16", "name": "tiny-llama-16", "project": "my-study",
                    "group": "my-study"}
    (row,) = history
    assert row["eval/bmw_type/acc"] == 0.3125
    assert (row["report/models/_type"], row["report/models/nrows"]) == ("table-file", 1)
    table = json.loads(next((tmp_path / "tracking" / "wandb").glob(
        "offline-run-*/files/" + row["report/models/path"])).read_text())
    assert table["columns"] == ["model", "score"] and table["data"] == [["tiny-llama-16", 0.167]]
    assert row["report/plots/ranking/_type"] == "image-file"
    assert (row["report/plots/ranking/width"], row["report/plots/ranking/height"]) == (8, 8)
    assert tracking.wandb_id("org/model 1") == "org-model-1"
