"""The study config: one YAML file is the single source of a study's settings.

Keys map one-to-one to the dataclasses below (litgpt style, validated on construction, never
executed); the `train` group takes the keys of `ftbench train` (ftbench.train.config.TrainConfig)
except those the study fills in itself (base model, grid, data and output directories).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftbench.core.config import build, load_with_group, read_config
from ftbench.core.fingerprint import check_model_ref
from ftbench.core.io import InputError
from ftbench.core.run_manifest import base_manifest, read_run_manifest
from ftbench.core.tracking import TrackingConfig
from ftbench.eval.specs import ModelSpec
from ftbench.pipelines import study_variants
from ftbench.pipelines.study_variants import VariantConfig
from ftbench.suites.composite_weights import composite_weights
from ftbench.suites.registry import DEFAULT as DEFAULT_SUITE
from ftbench.suites.study_hooks import LM
from ftbench.train.config import METHODS, RunSpec, TrainConfig

TINY = "tiny"  # model path meaning "build the embedded tiny model"
STUDY_FILLED_TRAIN_KEYS = ("base_model", "model_name", "train_size", "grid", "data_dir", "output_dir",
                           "tracking")
STAGES = ("data", "models", "train", "eval", "report")


@dataclass
class DataSettings:
    """Where the raw articles come from and how they are split."""

    source: str
    sizes: list[int] = field(default_factory=lambda: [500, 1000, 1500, 2000])
    test_size: float = 0.1
    seed: int = 42
    max_input_words: int | None = None
    skip_invalid: bool = False
    strip_reference_from_input: bool = False  # opt-in; off keeps the study's prompts byte-identical

    def __post_init__(self) -> None:
        from ftbench.suites.layout import check_test_size

        # `$FTBENCH_GLUE_DATA`-style sources: a variable not set stays, and the data stage says so
        self.source = os.path.expandvars(self.source)

        if not self.sizes or min(self.sizes) <= 0:
            raise InputError(f"config key 'data.sizes': positive integers required, got {self.sizes}")
        self.test_size = check_test_size(self.test_size, "config key 'data.test_size'")
        if self.max_input_words is not None and self.max_input_words <= 0:
            raise InputError("config key 'data.max_input_words': must be positive or null")


@dataclass
class StudyModel:
    """A base model: a hub id, a local directory, a model alias (`smollm2`, `gemma3-270m`), a
    `.gguf` file, or `tiny` for the embedded model; with its prompt settings, which its
    fine-tuned runs inherit (training format and evaluation alike)."""

    name: str
    path: str
    tiny_pretrain_steps: int = 300
    method: str | None = None  # overrides train.method for this model's runs (LoRA and QLoRA
    #                            of one base: list it twice, with distinct names)
    chat_template: str = "auto"        # "none": plain prompts (base models without a template)
    add_bos_token: bool | None = None  # None: the tokenizer's default
    # engine knobs for evaluating this model and its runs (ftbench.eval.backends.MODEL_ARGS)
    model_args: dict[str, bool | int | float | str | None] | None = None
    # executor ray: what each training run / evaluation of this model asks the cluster for
    resources: dict[str, float] | None = None
    # a hub model's revision (branch, tag or commit) to pin; None: whatever `main` names now
    revision: str | None = None
    # `lm`: a causal LM the study fine-tunes and evaluates with lm-eval; another kind is one
    # its suite trains and scores itself (the glue suite's `encoder`), its `path` its own
    kind: str = LM
    # an existing LoRA adapter on `path` (or `path: BASE::ADAPTER`): an `evaluate_only` study
    # evaluates it as a fine-tune of `path` (ftbench.pipelines.eval_only)
    adapter: str | None = None

    def __post_init__(self) -> None:
        from ftbench.core.model_sources import check_model_source, is_model_source

        if self.kind != LM:
            return  # the suite's model kind resolves and checks its own path
        self.path, self.adapter = split_adapter(self.name, self.path, self.adapter)
        if self.path != TINY and not is_model_source(self.path):
            # a path that does not exist is named now, not as a hub-id error later
            check_model_ref(self.path, f"config key 'models.path' ({self.name})",
                            paths_only=True, files=False)  # its files: run_study's checks
        if self.method is not None and self.method not in METHODS:
            raise InputError(f"config key 'models.method': must be one of {', '.join(METHODS)}; "
                             f"got {self.method!r}")
        if self.chat_template not in ("auto", "none"):
            raise InputError("config key 'models.chat_template': must be auto or none; "
                             f"got {self.chat_template!r}")
        for key, value in (self.resources or {}).items():
            if key not in RESOURCE_KEYS or value < 0:
                raise InputError(f"config key 'models.resources' ({self.name}): {key}: {value} "
                                 f"is not a non-negative {' / '.join(RESOURCE_KEYS)}")
        try:
            check_model_source(self.path)
        except InputError as exc:
            raise InputError(f"config key 'models.path': {exc}") from None


@dataclass
class EvalStage:
    tasks: list[str] | None = None  # null: the study suite's task group
    backend: str = "auto"
    limit: float | None = None
    batch_size: int | None = None
    include_base: bool = True
    apply_chat_template: bool = True
    general_data: str | None = None  # general-skills data: null = the hub, "sample", or a folder
    general_n: int | None = None     # seeded subsample of each general-skills evaluation split
    context_length: int | None = None  # shorter than the models' own context (memory); recorded
    threads: int | None = None       # torch intra-op threads (default: OMP_NUM_THREADS / allowed CPUs)
    thinking: bool = False           # reasoning models think (chat template enable_thinking)
    max_gen_toks: int | dict[str, int] | None = None  # budget override: N, or {task: N}
    # passed through to lm-eval's model_args for every model: vLLM tensor_parallel_size, ...
    model_args: dict[str, bool | int | float | str | None] | None = None
    # lm-eval's prompt switches (`--system_instruction`, `--fewshot_as_multiturn`); null: its default
    system_instruction: str | None = None
    fewshot_as_multiturn: bool | None = None
    # what a fine-tune is evaluated as: its merged checkpoint, or base + adapter (one base load
    # for all adapters of a base; docs/evaluation.md)
    models: str = "merged"

    def __post_init__(self) -> None:
        from ftbench.eval.backends import BACKENDS, check_model_args
        from ftbench.eval.tasks import check_limit

        self.models = check_choice(self.models, EVAL_MODELS, "eval.models")

        if self.backend not in BACKENDS:
            raise InputError(f"config key 'eval.backend': must be one of {', '.join(BACKENDS)}; "
                             f"got {self.backend!r}")
        if self.tasks is not None and (
                not self.tasks or not all(isinstance(t, str) and t.strip() for t in self.tasks)):
            raise InputError(f"config key 'eval.tasks': list task or group names, got {self.tasks!r}")
        self.limit = check_limit(self.limit, "config key 'eval.limit'")
        if self.batch_size is not None and self.batch_size <= 0:
            raise InputError(f"config key 'eval.batch_size': must be positive, got {self.batch_size}")
        if self.general_n is not None and self.general_n <= 0:
            raise InputError(f"config key 'eval.general_n': must be positive, got {self.general_n}")
        budgets = ([self.max_gen_toks] if isinstance(self.max_gen_toks, int)
                   else list((self.max_gen_toks or {}).values()))
        if any(not isinstance(v, int) or isinstance(v, bool) or v <= 0 for v in budgets):
            raise InputError("config key 'eval.max_gen_toks': a positive integer or a mapping "
                             f"task -> positive integer; got {self.max_gen_toks!r}")
        self.model_args = check_model_args(self.model_args, self.backend,
                                           "config key 'eval.model_args'") or None


EVAL_MODELS = ("merged", "adapters")


def check_choice(value: str, choices: tuple[str, ...], key: str) -> str:
    """`value` if it is one of `choices`, else InputError naming `key` (with a close match)."""
    if value in choices:
        return value
    close = difflib.get_close_matches(str(value), choices, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise InputError(f"config key '{key}': must be one of {', '.join(choices)}; "
                     f"got {value!r}{hint}")


def check_merge(train: TrainConfig, eval_models: str) -> None:
    """A study that evaluates merged checkpoints must write them (before any run trains)."""
    if not train.merge and train.method != "full" and eval_models == "merged":
        raise InputError("config key 'train.merge': false writes no merged checkpoint, but "
                         "eval.models is 'merged'; set eval.models: adapters (or train.merge: "
                         "true)")


def split_adapter(name: str, path: str, adapter: str | None) -> tuple[str, str | None]:
    """`BASE::ADAPTER` (the `--models` spelling) → (BASE, ADAPTER); a given adapter must be a
    PEFT adapter folder (adapter_config.json), named now rather than when a model loads."""
    base, sep, inline = path.partition("::")
    if sep and adapter:
        raise InputError(f"config key 'models.adapter' ({name}): given twice (path {path!r} "
                         "names one too)")
    adapter = (inline if sep else adapter) or None
    if sep and not (base and inline):
        raise InputError(f"config key 'models.path' ({name}): expected BASE::ADAPTER, got {path!r}")
    if adapter is not None and not (Path(adapter).expanduser() / "adapter_config.json").is_file():
        raise InputError(f"config key 'models.adapter' ({name}): {adapter} is not a PEFT "
                         "adapter folder (no adapter_config.json there)")
    return base, adapter


def general_metadata(stage: EvalStage) -> dict:
    """The general-skills suite's data location and subsample (lm-eval metadata `general_data`,
    `general_n`; absent keys: hub, all items)."""
    from ftbench.core.paths import SAMPLE_SOURCE

    meta: dict = {}
    if stage.general_data:
        path = Path(stage.general_data)
        local = stage.general_data != SAMPLE_SOURCE and path.exists()
        meta["general_data"] = str(path.resolve()) if local else stage.general_data
    if stage.general_n:
        meta["general_n"] = stage.general_n
    return meta


EXECUTORS = ("local", "ray")
RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory")  # Ray task options (memory in bytes)


@dataclass
class RaySettings:
    """`executor: ray`: which cluster (an address, `auto`, or RAY_ADDRESS; none: start a local
    one with `num_cpus` CPUs and a small object store) and the default per-task resources."""

    address: str | None = None
    num_cpus: int | None = None         # a local cluster only (null: every CPU)
    object_store_mb: int = 256          # a local cluster only: results stay on disk, not here
    resources: dict[str, float] | None = None  # per task; null: 1 GPU if the cluster has one

    def __post_init__(self) -> None:
        if self.num_cpus is not None and self.num_cpus <= 0:
            raise InputError(f"config key 'ray.num_cpus': must be positive, got {self.num_cpus}")
        if self.object_store_mb < 80:
            raise InputError("config key 'ray.object_store_mb': Ray needs at least 80, got "
                             f"{self.object_store_mb}")
        for key, value in (self.resources or {}).items():
            if key not in RESOURCE_KEYS or value < 0:
                raise InputError(f"config key 'ray.resources': {key}: {value} is not a "
                                 f"non-negative {' / '.join(RESOURCE_KEYS)}")


@dataclass
class ReportStage:
    top_n: int = 5
    tie_threshold: float = 0.01
    n_samples: int = 5
    metric: str | None = None
    # column -> weight of the suite's overall score (null: the suite's defaults); checked
    # against the suite when the study loads (ftbench.suites.composite_weights)
    composite: dict[str, float] | None = None

    def __post_init__(self) -> None:  # at load: the report runs last, after hours of work
        from ftbench.report.settings import check_report_settings

        check_report_settings(self.top_n, self.tie_threshold, self.n_samples,
                              name=lambda key: f"config key 'report.{key}'")


@dataclass
class StudyConfig:
    name: str
    data: DataSettings
    models: list[StudyModel]
    suite: str = DEFAULT_SUITE  # a built-in suite name or the path of a module defining SUITE
    out_dir: str = ""
    train: dict[str, Any] = field(default_factory=dict)
    eval: EvalStage = field(default_factory=EvalStage)
    report: ReportStage = field(default_factory=ReportStage)
    executor: str = "local"  # "ray": training runs and evaluations as Ray tasks
    ray: RaySettings = field(default_factory=RaySettings)
    # the suite's own keys (`Suite.study.options`), and the ways models are evaluated (null:
    # the suite's default variants, else every model on eval.tasks); study_variants.py
    suite_options: dict[str, Any] = field(default_factory=dict)
    variants: list[VariantConfig] | None = None
    # curves, scores and the report's tables to TensorBoard / Trackio (docs/tracking.md)
    tracking: TrackingConfig | None = None
    # evaluate the listed models only: no train split, no training (ftbench.pipelines.eval_only)
    evaluate_only: bool = False

    def __post_init__(self) -> None:
        self.out_dir = self.out_dir or f"work/{self.name}"
        if self.tracking is not None:  # one project per study; <out>/tracking/ beside runs/
            self.tracking = self.tracking.resolved(self.name, self.runs_dir)
        if self.executor not in EXECUTORS:
            raise InputError(f"config key 'executor': must be one of {', '.join(EXECUTORS)}; "
                             f"got {self.executor!r}")
        if not self.models and not self.evaluate_only:
            raise InputError("config key 'models': list at least one base model")
        suite = self.suite_def()
        if suite.evaluation_only:
            raise InputError(f"config key 'suite': {suite.name!r} is evaluation-only (nothing to "
                             "prepare or train on); name the study's domain suite and list "
                             f"{suite.task_group} in eval.tasks")
        if suite.pretraining is None and any(m.path == TINY for m in self.lm_models()):
            raise InputError(f"config key 'models.path': `{TINY}` pre-trains on a suite's own "
                             f"texts; suite {suite.name!r} has none, so it needs a model path")
        study_variants.check_kinds(suite, [(m.name, m.kind) for m in self.models])
        names = [m.name for m in self.models]  # lm models: their run names are checked below
        dupes = sorted({m.name for m in self.other_models() if names.count(m.name) > 1})
        if dupes:
            raise InputError(f"config key 'models': duplicate model names {dupes}")
        self.report.composite = composite_weights(suite, self.report.composite)
        self.options = study_variants.suite_options(suite, self.suite_options)
        self.variant_list = study_variants.variants(suite, self.options, self.variants)
        self.parts = study_variants.parts(suite, self.options)
        if self.other_models() and not self.lm_models():  # the report compares with them
            kinds = sorted({m.kind for m in self.other_models()})
            raise InputError(f"config key 'models': every model is of kind {', '.join(kinds)}; "
                             "a study compares them with at least one model of kind lm "
                             "(a decoder it evaluates with lm-eval)")
        if self.other_models() and self.executor == "ray":
            raise InputError("config key 'executor': models of kind "
                             f"{self.other_models()[0].kind} run locally only; use executor "
                             "local (or list them in a study of their own)")
        if self.variant_list:
            if self.eval.tasks is not None:
                raise InputError("config key 'eval.tasks': the study's variants name its tasks; "
                                 "list them there (a variant per way of evaluating)")
            self.eval.tasks = study_variants.union_tasks(self.variant_list)
        if self.eval.tasks is None:
            self.eval.tasks = [suite.task_group]
        from ftbench.eval.backends import check_model_args

        for m in self.lm_models():
            m.model_args = check_model_args(m.model_args, self.eval.backend,
                                            f"config key 'models.model_args' ({m.name})") or None
        self.check_evaluate_only()
        self.set_train(self.train)

    def check_evaluate_only(self) -> None:
        """What `evaluate_only` asks of the models (and of a study that trains: no adapters)."""
        from ftbench.pipelines import eval_only

        if self.evaluate_only:
            eval_only.check(self, TINY)
        else:
            eval_only.check_no_adapters(self)

    def set_train(self, train: dict[str, Any]) -> None:
        """Check the `train` group by building the TrainConfig now, before any work starts."""
        if not isinstance(train, dict):
            raise InputError(f"config key 'train': expected a mapping, got {train!r}")
        clash = [k for k in train if k in STUDY_FILLED_TRAIN_KEYS]
        if clash:
            raise InputError(f"config key 'train.{clash[0]}' is set by the study itself; remove it")
        if train and self.evaluate_only:
            raise InputError("config key 'train': an evaluate_only study trains nothing; "
                             "remove the train section (or evaluate_only)")
        self.train = train
        self.train_configs()

    def lm_models(self) -> list[StudyModel]:
        """The models the study fine-tunes and evaluates with lm-eval (kind `lm`)."""
        return [m for m in self.models if m.kind == LM]

    def other_models(self) -> list[StudyModel]:
        """Models of a kind the suite trains and scores itself."""
        return [m for m in self.models if m.kind != LM]

    def trains(self) -> bool:
        """Whether anything is fine-tuned: a variant evaluates fine-tuned runs, or (without
        variants) every study does."""
        if self.evaluate_only:
            return False
        return bool(self.lm_models()) and (not self.variant_list or any(
            v.models == "finetuned" for v in self.variant_list))

    def data_dirs(self) -> dict[str | None, Path]:
        """The prepared folder of each part (None: the suite's data as a whole)."""
        if not self.parts:
            return {None: self.data_dir}
        return {p: self.data_dir / p for p in self.parts}

    def suite_def(self):
        """The study's `Suite` (ftbench.suites.base); a module path is imported once."""
        from ftbench.suites.registry import get_suite

        return get_suite(self.suite, "config key 'suite'")

    def include_path(self) -> str:
        """lm-eval's include path: the project's tasks, plus the suite's own folder."""
        return self.suite_def().include_path()

    @property
    def out(self) -> Path:
        return Path(self.out_dir)

    @property
    def data_dir(self) -> Path:
        return self.out / "data"

    @property
    def runs_dir(self) -> Path:
        return self.out / "runs"

    @property
    def results_dir(self) -> Path:
        return self.out / "results"

    @property
    def report_dir(self) -> Path:
        return self.out / "report"

    def model_path(self, m: StudyModel) -> str:
        return str(self.out / "models" / m.name) if m.path == TINY else m.path

    def train_config(self) -> TrainConfig:
        """The training grid; a study whose models override `method` has one per method."""
        configs = self.train_configs()
        if len(configs) > 1:
            raise InputError("models override train.method: use train_configs(), one per method")
        return configs[0]

    def train_configs(self) -> list[TrainConfig]:
        """One grid per training method and part, in the order the models are listed (none when
        the study's variants evaluate no fine-tuned model)."""
        if not self.trains():
            return []
        groups: dict[str | None, list[StudyModel]] = {}
        for m in self.lm_models():
            groups.setdefault(m.method, []).append(m)
        configs = []
        for part, data_dir in self.data_dirs().items():
            for method, models in groups.items():
                grid = {"models": [{"path": self.model_path(m), "name": grid_name(m.name, part),
                                    "chat_template": m.chat_template,
                                    "add_bos_token": m.add_bos_token, "revision": m.revision}
                                   for m in models],
                        "sizes": list(self.data.sizes)}
                data = {**self.train, "grid": grid, "data_dir": str(data_dir),
                        "output_dir": str(self.runs_dir),
                        "tracking": (dataclasses.asdict(self.tracking)
                                     if self.tracking is not None else None)}
                if method is not None:
                    data["method"] = method
                configs.append(build(TrainConfig, data, prefix="train."))
        for c in configs:
            check_merge(c, self.eval.models)
        names = [r.name for c in configs for r in c.runs()]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(f"config key 'models': duplicate run names {dupes}; give the models "
                             "distinct names")
        return configs

    def runs(self) -> list[RunSpec]:
        """Every training run of the study (all grids)."""
        return [r for c in self.train_configs() for r in c.runs()]

    def eval_metadata(self) -> dict:
        """What the tasks read (lm-eval metadata), for `ftbench study` and `ftbench eval --study`
        alike: the study suite's data (its prepared directory, or for a suite whose tasks read
        the source directory itself, that directory; under the suite's metadata key), what the
        suite's options add (a subsample, say), the general-skills suite's data and subsample."""
        suite = self.suite_def()
        source = suite.data
        hook = suite.study.eval_metadata
        own = hook(self.options) if hook is not None else {}
        if source is None:
            return {**own, **general_metadata(self.eval)}
        data = self.data_dir if source.reads == "prepared" else Path(self.data.source)
        return {source.metadata_key: str(data.resolve()), **own, **general_metadata(self.eval)}

    def model_specs(self, include_runs: bool = True) -> list[ModelSpec]:
        """Base models (when evaluated) and every fine-tuned run that finished training from
        this config's current inputs (a run trained from other inputs raises InputError)."""
        from ftbench.core.model_sources import resolve_model_path
        from ftbench.train.grid import current_runs

        if self.evaluate_only:
            from ftbench.pipelines import eval_only

            return eval_only.model_specs(self)
        specs = []
        base_of = self.base_names()
        if self.eval.include_base and self.evaluates("base"):
            bases: dict[str, StudyModel] = {}  # one evaluation per base, even if trained twice
            for m in self.lm_models():
                bases.setdefault(self.model_path(m), m)
            tasks = self.model_tasks("base", None)
            for path, m in bases.items():
                weights = _abs(resolve_model_path(path))
                specs.append(ModelSpec(f"{m.name}-base", weights, chat_template=m.chat_template,
                                       add_bos_token=m.add_bos_token,
                                       run=base_manifest(m.name, weights).to_dict(),
                                       extra_args=m.model_args, revision=m.revision,
                                       tasks=tasks))
        if not include_runs:
            return specs
        for train_config in self.train_configs():
            for run, run_dir in current_runs(train_config):
                specs.append(self.run_spec(run, run_dir, base_of.get(run.model_path)))
        return specs

    def base_names(self) -> dict[str, str]:
        """model path -> the name its base is evaluated under (the first model listed with it)."""
        if self.evaluate_only:
            from ftbench.pipelines import eval_only

            return eval_only.base_names(self)
        if not (self.eval.include_base and self.evaluates("base")):
            return {}
        out: dict[str, str] = {}
        for m in self.lm_models():
            out.setdefault(self.model_path(m), f"{m.name}-base")
        return out

    def evaluates(self, model_set: str) -> bool:
        """Whether a variant evaluates the base / fine-tuned models (without variants: both)."""
        return not self.variant_list or any(v.models == model_set for v in self.variant_list)

    def model_tasks(self, model_set: str, part: str | None) -> tuple[str, ...] | None:
        """The leaf tasks a base ("base") or a run of `part` ("finetuned") is evaluated on;
        None without variants (every task of the evaluation)."""
        from ftbench.eval.tasks import expand_tasks, task_manager

        def leaf(names: list[str]) -> list[str]:  # the index check_tasks built is reused
            return expand_tasks(names, task_manager(self.include_path(), None, self.eval.tasks))

        return study_variants.tasks_for(self.variant_list, model_set, part, leaf,
                                        self.suite_def().study.task_part)

    def study_model(self, grid_model: str) -> StudyModel | None:
        """The study model a training grid's model name stands for (`<model>-<part>` in a
        study with parts)."""
        return next((m for p in (None, *self.parts) for m in self.lm_models()
                     if grid_model == grid_name(m.name, p)), None)

    def run_part(self, run: RunSpec) -> str | None:
        """The part of the data a run was trained on (from its grid model name)."""
        return next((p for p in self.parts for m in self.lm_models()
                     if run.model_name == grid_name(m.name, p)), None)

    def run_spec(self, run: RunSpec, run_dir: Path, base_name: str | None) -> ModelSpec:
        """A trained run as a model to evaluate, with what it is (its typed manifest); it is
        evaluated as its base (its model args), on its variants' tasks of its part."""
        typed = read_run_manifest(run_dir)  # None: trained before typed manifests
        model = self.study_model(run.model_name)
        pretrained, adapter = self.run_weights(run, run_dir)
        return ModelSpec(run.name, pretrained, adapter,
                         chat_template=run.chat_template, add_bos_token=run.add_bos_token,
                         extra_args=model.model_args if model else None,
                         run=typed.with_base(base_name).to_dict() if typed else None,
                         revision=run.revision if adapter else None,  # a hub base's pin
                         tasks=self.model_tasks("finetuned", self.run_part(run)))

    def run_weights(self, run: RunSpec, run_dir: Path) -> tuple[str, str | None]:
        """(pretrained, adapter) a run is evaluated as: its merged checkpoint, or with
        `eval.models: adapters` its base and adapter (a full fine-tune has only `merged/`)."""
        from ftbench.core.model_sources import resolve_model_path

        adapter = run_dir / "adapter"
        if self.eval.models == "adapters" and (adapter / "adapter_config.json").is_file():
            return _abs(resolve_model_path(run.model_path)), str(adapter.resolve())
        return str((run_dir / "merged").resolve()), None

    def kind_dir(self, model: StudyModel, part: str | None) -> Path:
        """Where a model of another kind writes its run on `part` (beside the results)."""
        return self.results_dir / model.name / (part or "all")

    def study_record(self) -> dict | None:
        """What the results index keeps of the study's variants, parts and model kinds
        (`settings.study`; None for a plain study), from the config alone."""
        models: dict[str, dict] = {}
        for name in self.base_names().values():
            models[name] = {"model": name.removesuffix("-base"), "kind": LM, "set": "base",
                            "part": None}
        for run in self.runs():
            model = self.study_model(run.model_name)
            models[run.name] = {"model": model.name, "kind": LM, "set": "finetuned",
                                "part": self.run_part(run), "train_size": run.train_size}
        for m in self.other_models():
            for part in self.parts or (None,):
                key = f"{m.name}/{part or 'all'}"
                models[key] = {"model": m.name, "kind": m.kind, "part": part,
                               "dir": str(self.kind_dir(m, part).relative_to(self.results_dir))}
        return study_variants.study_record(self.variant_list, models)


def grid_name(model: str, part: str | None) -> str:
    """A base model's name in the training grid of one part: its runs are `<model>-<part>-<N>`."""
    return model if part is None else f"{model}-{part}"


def _abs(path: str) -> str:
    return str(Path(path).resolve()) if Path(path).exists() else path


def load_study_config(path: Path | str, overrides: list[str] | None = None,
                      suite_format: str | None = None) -> StudyConfig:
    """A study config; with `suite_format`, a config in that suite's own older format is read
    too (`Suite.study.read_config`: `ftbench glue` and the GLUE matrix's YAML files)."""
    if suite_format is None:
        return load_with_group(StudyConfig, path, overrides, "train", "set_train")
    from ftbench.suites.registry import get_suite

    data = read_config(path, overrides)
    reader = get_suite(suite_format).study.read_config
    try:
        if "models" not in data and reader is not None:
            data = reader(data)
        train = data.pop("train", None) or {}
        cfg = build(StudyConfig, data)
        cfg.set_train(train)
        return cfg
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
