"""Every plot, rendered: the run's metadata in each footer, no two label texts overlapping, one pooling of
"other" countries shared by the plots, the summary's denominator in the plots' data, and a saturated run
watermarked."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from simulator.plot_style import WATERMARK_GID
from simulator.plots import PLOT_FILES, PlotContext, _figures, run_view
from simulator.run_metadata import CodeVersion, RunMetadata
from simulator.survival import HORIZON_HOURS, ObservationWindow
from tests.simulator.test_plots import write_synthetic_run

META = RunMetadata(
    "synthetic", 7, "live", 3600.0, {"duration_hours": 120.0}, CodeVersion("9.9.9", "0123456789abcdef", False)
)


def _context(run_dir: Path, *, saturated: bool = False, warmup: float = 0.0) -> PlotContext:
    return PlotContext(
        title="synthetic, seed 7",
        metadata=META,
        window=ObservationWindow(warmup, HORIZON_HOURS, 7 * 24.0),
        saturated=saturated,
    )


def labels_drawn(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every drawn, non-empty text of the figure with its extent; the watermark is meant to overlap. A tick label
    counts only when its tick lies within the axis' view (matplotlib keeps labels for ticks it does not draw)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    undrawn: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                inside = low - 1e-9 * abs(high - low) <= tick.get_loc() <= high + 1e-9 * abs(high - low)
                shown = {tick.label1, tick.label2} if inside else set()
                undrawn.update(id(label) for label in (tick.label1, tick.label2) if label not in shown)
                undrawn.update(id(label) for label in (tick.label1, tick.label2) if not label.get_visible())
    found = []
    for text in fig.findobj(Text):
        if id(text) in undrawn or not text.get_visible() or not text.get_text().strip():
            continue
        if text.get_gid() == WATERMARK_GID:
            continue
        found.append((text.get_text(), text.get_window_extent(renderer)))
    return found


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    write_synthetic_run(run_dir, n_items=900, days=7, sample_every_s=3600)
    return run_dir


def test_every_plot_carries_the_run_metadata_and_no_label_overlaps_another(synthetic_run: Path) -> None:
    figures = _figures(synthetic_run, context=_context(synthetic_run))
    assert [name for name, _ in figures] == list(PLOT_FILES)
    for name, fig in figures:
        labels = labels_drawn(fig)
        texts = "\n".join(text for text, _ in labels)
        for fragment in ("scenario synthetic", "seed 7", "live", "scale 3600", "duration_hours=120.0", "9.9.9"):
            assert fragment in texts, (name, fragment)
        assert "git 0123456789" in texts
        assert fig.get_suptitle().startswith("synthetic, seed 7")
        width, height = fig.canvas.get_width_height()
        for text, box in labels:
            assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, (name, text)
        assert_no_overlap(name, labels)
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        entries = [t.get_text() for legend in legends for t in legend.get_texts()]
        assert entries and len(entries) == len(set(entries)), (name, entries)  # a legend, no entry twice
        axes_labels = [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]
        assert any(axes_labels), name


def assert_no_overlap(name: str, labels: list[tuple[str, Bbox]]) -> None:
    for (a, box_a), (b, box_b) in itertools.combinations(labels, 2):
        overlap = Bbox.intersection(box_a, box_b)
        assert overlap is None or overlap.width < 1 or overlap.height < 1, (name, a, b)


def test_a_saturated_run_is_watermarked_in_every_plot(synthetic_run: Path) -> None:
    for saturated in (False, True):
        for name, fig in _figures(synthetic_run, context=_context(synthetic_run, saturated=saturated)):
            marks = [t for t in fig.findobj(Text) if t.get_gid() == WATERMARK_GID]
            assert [t.get_text() for t in marks] == (["SATURATED"] if saturated else []), name


def test_the_plots_share_one_pooling_of_other_countries(synthetic_run: Path) -> None:
    """Ten hosting countries, eight drawn: both removal plots pool the same two as "other"."""
    context = _context(synthetic_run)
    view = run_view(synthetic_run, context)
    assert len(view.top) == 8 and len(view.rest) == 2
    texts = {
        name: "\n".join(t.get_text() for t in fig.findobj(Text))
        for name, fig in _figures(synthetic_run, context=context)
    }
    for name in ("time_to_removal.png", "removed_within_72h.png"):
        assert "other (2" in texts[name] or "other\n(2)" in texts[name], name
        for country in view.top:
            assert country in texts[name], (name, country)
        for country in view.rest:
            assert f"\n{country}\n" not in f"\n{texts[name]}\n", (name, country)


def test_the_window_of_the_context_is_the_denominator_of_the_plots(synthetic_run: Path) -> None:
    late = run_view(synthetic_run, _context(synthetic_run, warmup=24.0))
    early = run_view(synthetic_run, _context(synthetic_run))
    assert len(late.counted) < len(early.counted)
    assert all(i.reported is not None and 24 * 3600 <= i.reported <= (7 * 24 - 72) * 3600 for i in late.counted)
    texts = "\n".join(
        t.get_text()
        for name, fig in _figures(synthetic_run, context=_context(synthetic_run, warmup=24.0))
        if name == "removed_within_72h.png"
        for t in fig.findobj(Text)
    )
    assert f"n={len(late.counted)}" in texts
