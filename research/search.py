"""A parameter search: grid or Optuna (TPE), over the whole period or walk-forward.

The search proposes settings, runs their backtests on a backend (this process,
a process pool or Dask: ``research.backends``) and hands every finished row to
``on_row`` as it comes, so a caller can write it at once and an interruption
keeps the finished rows.

Walk-forward: in each window every proposed setting is backtested in-sample;
the best by the objective (ties: the earlier proposed) is chosen from the
in-sample figures alone; then every setting is backtested on the window's test
days, which no in-sample figure covers. The chosen settings' test results are
chained (each test window starts flat; a position still open at its end is
marked at its last close [B4]) into one out-of-sample record.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from config.settings import AppSettings
from core.backtest import DEFAULT_ENGINE, TRADING_DAYS_PER_YEAR
from core.errors import UserError
from research.backends import Job
from research import overfitting
from research.evaluate import Metrics, curve_metrics
from research.params import Assignment, ParamSpec, apply_assignment, grid
from research.walk_forward import Window

METHODS = ("grid", "optuna")
POLL_SECONDS = 0.2


class SearchCancelled(Exception):
    """The caller asked the search to stop (the window's Cancel button)."""


class Backend(Protocol):
    capacity: int

    def submit(self, job: Job) -> None: ...
    def next_done(self, timeout: float) -> tuple[Job, Metrics] | None: ...
    def close(self, cancel: bool = False) -> None: ...


@dataclass(frozen=True)
class SearchPlan:
    specs: tuple[ParamSpec, ...]
    objective: str = "net_pnl"
    method: str = "grid"
    trials: int = 50  # optuna: finished trials wanted (per walk-forward window)
    start_ms: int | None = None
    end_ms: int | None = None
    windows: tuple[Window, ...] = ()  # empty: no walk-forward
    seed: int = 0
    storage: str | None = None  # optuna: an SQLAlchemy URL (sqlite:///...), None = in memory
    engine: str = DEFAULT_ENGINE  # as backtest --engine

    @property
    def keys(self) -> list[str]:
        return [spec.key for spec in self.specs]


@dataclass(frozen=True)
class Row:
    """One line of results.csv: a setting's figures (in-sample, and out-of-sample with walk-forward)."""

    assignment: Assignment
    metrics: Metrics
    oos: Metrics | None = None
    window: Window | None = None


@dataclass(frozen=True)
class WindowResult:
    window: Window
    chosen: Assignment
    in_sample: Metrics
    out_of_sample: Metrics  # with its equity
    overfitting: overfitting.Overfitting | None = None  # over this window's in-sample backtests


@dataclass
class SearchResult:
    rows: list[Row]  # in the order the settings were proposed (grid order, Optuna trial number)
    best: Assignment  # without walk-forward: the best row; with it: the last window's choice
    best_metrics: Metrics  # its in-sample figures, equity kept
    windows: list[WindowResult] = field(default_factory=list)
    chained: Metrics | None = None  # walk-forward: the chosen settings' out-of-sample record, equity kept
    notes: list[str] = field(default_factory=list)
    overfitting: overfitting.Overfitting | None = None  # without walk-forward: over every setting tried


def assess_overfitting(results: list[tuple[int, Assignment, Metrics]]
                       ) -> tuple[list[tuple[int, Assignment, Metrics]], overfitting.Overfitting]:
    """PBO and each setting's deflated Sharpe (research.overfitting) over ``results``, written into
    their metrics' ``dsr`` and ``pbo``."""
    per_day = math.sqrt(TRADING_DAYS_PER_YEAR)
    found = overfitting.assess([metrics.daily_returns for _, _, metrics in results],
                               [metrics.sharpe / per_day for _, _, metrics in results])
    marked = [(seq, assignment, replace(metrics, dsr=found.dsr[n], pbo=found.pbo))
              for n, (seq, assignment, metrics) in enumerate(results)]
    return marked, found


def pick_best(results: Sequence[tuple[int, Assignment, Metrics]], objective: str) -> tuple[int, Assignment, Metrics]:
    """The highest objective; on a tie the one proposed first (NaN counts as the worst)."""
    def key(item: tuple[int, Assignment, Metrics]) -> tuple[float, int]:
        value = item[2].objective(objective)
        return (-math.inf if math.isnan(value) else value, -item[0])
    return max(results, key=key)


# ----- proposers: which settings to try next ------------------------------------------------------


class GridProposer:
    def __init__(self, combos: Sequence[Assignment]):
        self._combos = list(combos)
        self._next = 0

    def ask(self) -> tuple[int, Assignment] | None:
        if self._next >= len(self._combos):
            return None
        self._next += 1
        return self._next - 1, self._combos[self._next - 1]

    def tell(self, seq: int, metrics: Metrics) -> None:
        """A grid does not learn from results: every combination is tried in order."""

    def previous(self) -> list[tuple[int, Assignment, Metrics]]:
        return []

    def pending(self) -> int:
        return len(self._combos) - self._next


class OptunaProposer:
    """TPE proposals from an Optuna study (ask/tell, several trials in flight).

    The study lives in ``plan.storage`` under ``name``; if it exists it is continued:
    its finished trials count towards ``plan.trials`` and are returned by
    :meth:`previous` (their figures are kept in each trial's user attributes).
    """

    def __init__(self, plan: SearchPlan, name: str, base: AppSettings, fingerprint: dict[str, Any]):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._plan = plan
        self._base = base
        self._specs = plan.specs
        sampler = optuna.samplers.TPESampler(seed=plan.seed)
        try:
            self.study = optuna.create_study(study_name=name, storage=plan.storage, sampler=sampler,
                                             direction="maximize", load_if_exists=True)
        except ImportError as exc:
            raise UserError(f"Optuna's study file needs SQLAlchemy, which this build does not include ({exc}); "
                            "use --search grid, or run from source") from None
        stored = self.study.user_attrs.get("search")
        if stored is None:
            self.study.set_user_attr("search", fingerprint)
        elif stored != fingerprint:
            raise UserError(f"the Optuna study {name!r} in {plan.storage} was made for another search "
                            f"(parameters, objective, dates or settings differ); use another --out")
        state = optuna.trial.TrialState
        for trial in self.study.get_trials(deepcopy=False, states=(state.RUNNING, state.WAITING)):
            self.study.tell(trial.number, state=state.FAIL)  # left in flight by an interrupted run
        self._trials: dict[int, Any] = {}
        self._asked = len(self._finished())

    def _finished(self) -> list[Any]:
        state = self._optuna.trial.TrialState
        return self.study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED))

    def _distribution(self, spec: ParamSpec):
        distributions = self._optuna.distributions
        if spec.is_range:
            if spec.is_integer:
                return distributions.IntDistribution(int(spec.low), int(spec.high), step=int(spec.step))
            return distributions.FloatDistribution(spec.low, spec.high, step=spec.step)
        return distributions.CategoricalDistribution(list(spec.values))

    def ask(self) -> tuple[int, Assignment] | None:
        while self._asked < self._plan.trials:
            self._asked += 1
            trial = self.study.ask({spec.key: self._distribution(spec) for spec in self._specs})
            assignment = tuple((spec.key, _snap(spec, trial.params[spec.key])) for spec in self._specs)
            try:
                apply_assignment(self._base, assignment)
            except UserError as exc:  # a combination the settings refuse (e.g. MACD fast > slow)
                trial.set_user_attr("refused", str(exc))
                self.study.tell(trial, state=self._optuna.trial.TrialState.PRUNED)
                continue
            trial.set_user_attr("assignment", [list(pair) for pair in assignment])
            self._trials[trial.number] = trial
            return trial.number, assignment
        return None

    def tell(self, seq: int, metrics: Metrics) -> None:
        trial = self._trials.pop(seq)
        trial.set_user_attr("metrics", metrics.row())
        value = metrics.objective(self._plan.objective)
        self.study.tell(trial, value if math.isfinite(value) else (1e12 if value > 0 else -1e12))

    def previous(self) -> list[tuple[int, Assignment, Metrics]]:
        found = []
        for trial in self._finished():
            if "metrics" in trial.user_attrs and "assignment" in trial.user_attrs:
                assignment = tuple((key, value) for key, value in trial.user_attrs["assignment"])
                found.append((trial.number, assignment, Metrics(**trial.user_attrs["metrics"])))
        return found

    def pending(self) -> int:
        """Trials still to run in this session."""
        return max(0, self._plan.trials - len(self._finished()))


def _snap(spec: ParamSpec, value: Any) -> Any:
    """Optuna's float for a stepped range -> the exact grid value (no 0.30000000000000004 in the CSV)."""
    if not spec.is_range:
        return value
    return min(spec.values, key=lambda candidate: abs(candidate - value))


# ----- the search ---------------------------------------------------------------------------------


class Search:
    def __init__(self, plan: SearchPlan, base: AppSettings, backend: Backend,
                 on_row: Callable[[Row], None] = lambda row: None,
                 progress: Callable[[int, int], None] = lambda done, total: None,
                 should_stop: Callable[[], bool] = lambda: False,
                 fingerprint: dict[str, Any] | None = None):
        self.plan, self.base, self.backend = plan, base, backend
        self.on_row, self.progress, self.should_stop = on_row, progress, should_stop
        self.fingerprint = fingerprint or {}
        self.notes: list[str] = []
        self.done = 0
        self.total = 0

    def run(self) -> SearchResult:
        try:
            result = self._walk_forward() if self.plan.windows else self._whole_period()
        except BaseException:
            self.backend.close(cancel=True)
            raise
        self.backend.close()
        result.notes = self.notes
        return result

    def _proposer(self, name: str):
        if self.plan.method == "optuna":
            return OptunaProposer(self.plan, name, self.base, self.fingerprint)
        combos, refused = grid(self.plan.specs, self.base)
        if refused and refused[0] not in self.notes:
            self.notes += refused
        return GridProposer(combos)

    def _expect(self, jobs: int) -> None:
        """Tell a backend that sizes its workers by the work (research.backends.HybridBackend) how much is coming."""
        expect = getattr(self.backend, "expect", None)
        if expect is not None:
            expect(jobs)

    def _step(self, amount: int = 1) -> None:
        self.done += amount
        self.progress(self.done, self.total)

    def _segment(self, proposer, start: int | None, end: int | None, keep_equity_of: Assignment | None = None,
                 on_done: Callable[[int, Assignment, Metrics], None] | None = None
                 ) -> list[tuple[int, Assignment, Metrics]]:
        """Every setting ``proposer`` gives, backtested over [start, end), several at a time."""
        results: list[tuple[int, Assignment, Metrics]] = []
        in_flight = 0
        while True:
            while in_flight < self.backend.capacity:
                proposal = proposer.ask()
                if proposal is None:
                    break
                seq, assignment = proposal
                self.backend.submit(Job(seq, assignment, start, end, assignment == keep_equity_of, self.plan.engine))
                in_flight += 1
            if in_flight == 0:
                return sorted(results, key=lambda item: item[0])
            finished = self.backend.next_done(POLL_SECONDS)
            if self.should_stop():
                raise SearchCancelled()
            if finished is None:
                continue
            job, metrics = finished
            in_flight -= 1
            proposer.tell(job.tag, metrics)
            results.append((job.tag, job.assignment, metrics))
            self._step()
            if on_done is not None:
                on_done(job.tag, job.assignment, metrics)

    def _rerun_with_equity(self, assignment: Assignment, start: int | None, end: int | None) -> Metrics:
        fixed = GridProposer([assignment])
        ((_, _, metrics),) = self._segment(fixed, start, end, keep_equity_of=assignment)
        return metrics

    def _whole_period(self) -> SearchResult:
        plan = self.plan
        proposer = self._proposer("optimize")
        previous = proposer.previous()
        self.total = proposer.pending() + 1  # +1: the best settings again, keeping their equity
        self._expect(self.total)
        for _, assignment, metrics in previous:
            self.on_row(Row(assignment, metrics))

        def emit(seq: int, assignment: Assignment, metrics: Metrics) -> None:
            self.on_row(Row(assignment, metrics))  # as it finishes, so an interruption keeps it

        results = previous + self._segment(proposer, plan.start_ms, plan.end_ms, on_done=emit)
        if not results:
            raise UserError("the search finished no backtest")
        _, best, _ = pick_best(results, plan.objective)
        best_metrics = self._rerun_with_equity(best, plan.start_ms, plan.end_ms)
        results, found = assess_overfitting(sorted(results, key=lambda item: item[0]))
        rows = [Row(assignment, metrics) for _, assignment, metrics in results]  # proposal order, wherever they ran
        best_index = [assignment for _, assignment, _ in results].index(best)
        best_metrics = replace(best_metrics, dsr=found.dsr[best_index], pbo=found.pbo)
        return SearchResult(rows, best, best_metrics, overfitting=found)

    def _walk_forward(self) -> SearchResult:
        plan = self.plan
        rows: list[Row] = []
        window_results: list[WindowResult] = []
        self.total = 0
        for window in plan.windows:
            proposer = self._proposer(f"window-{window.index + 1:03d}")
            planned = proposer.pending() + len(proposer.previous())
            if window.index == 0:
                self.total = 2 * planned * len(plan.windows)
                self._expect(self.total)
            in_sample = proposer.previous()
            self._step(len(in_sample))
            in_sample += self._segment(proposer, window.train_start, window.train_end)
            if not in_sample:
                raise UserError(f"walk-forward window {window.index + 1} finished no backtest")
            in_sample, found = assess_overfitting(in_sample)
            _, chosen, chosen_metrics = pick_best(in_sample, plan.objective)
            tried = GridProposer([assignment for _, assignment, _ in in_sample])
            outside = {seq: metrics for seq, _, metrics in
                       self._segment(tried, window.test_start, window.test_end, keep_equity_of=chosen)}
            for n, (_, assignment, metrics) in enumerate(in_sample):
                row = Row(assignment, metrics, outside[n], window)
                rows.append(row)
                self.on_row(row)
            chosen_oos = outside[[a for _, a, _ in in_sample].index(chosen)]
            window_results.append(WindowResult(window, chosen, chosen_metrics, chosen_oos, found))
        chained = chain_out_of_sample(window_results, self.base.backtest.initial_capital)
        last = window_results[-1]
        return SearchResult(rows, last.chosen, last.in_sample, window_results, chained)


def chain_out_of_sample(results: Sequence[WindowResult], capital: float) -> Metrics:
    """One equity record from the chosen settings' test windows, one after another."""
    times, equity = [], []
    offset = 0.0
    for result in results:
        window_times, window_equity = result.out_of_sample.equity
        times.append(window_times)
        equity.append(window_equity + offset)
        offset += result.out_of_sample.net_pnl
    return curve_metrics(np.concatenate(times), np.concatenate(equity), capital,
                         sum(r.out_of_sample.trades for r in results), sum(r.out_of_sample.fees for r in results),
                         sum(r.out_of_sample.hedges for r in results), keep_equity=True)
