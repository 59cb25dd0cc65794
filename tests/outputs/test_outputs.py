"""ntpsim run --out DIR: the files other tools read (docs/outputs.md).

- the plots: gnuplot runs without error and every page is a real PNG, for
  the seed incident, chrony's 001 and the firewall scenario (events);
  the stability panel appears when NODE.stability.csv is there; an overlay
  run changes the offset panel; the event markers name what events.log says;
- NODE.sources.csv: a row per clock-filter sample of every source, valid
  tallies, the same numbers as peerstats;
- stats/NODE/peerstats.YYYYMMDD and loopstats: dated as ntpd's filegen
  names them, split at midnight, and NTPsec's ntpviz reads them as they are;
- the pandas examples of docs/outputs.md run.

Run: /usr/bin/python3 -m pytest -q tests/outputs (CTest: outputs/pytest).
NTPLAB_BUILD names the build directory (default: build).
"""
import csv
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NTPLAB_BUILD", ROOT / "build"))
NTPSIM = BUILD / "sim" / "ntpsim"
PLOTS = ROOT / "plots"
STAB_SAMPLE = ROOT / "tests" / "data" / "plots" / "client.stability.csv"
RUN_TIMEOUT = 300  # s, a generous bound for one short scenario with its plots
MJD_UNIX_EPOCH = 40587  # MJD of 1970-01-01
DAY = 86400  # s
PNG_MIN_BYTES = 20000  # a page with curves on it; an empty pngcairo page is ~5 kB
PANEL_PX = 330  # px, height of one panel of a node page (plots/ntpsim-node.gp)

TALLIES = {" ": "reject", "x": "falseticker", ".": "excess", "-": "outlier",
           "+": "candidate", "#": "backup", "*": "sys_peer"}
SOURCES_HEADER = ["t", "source", "offset", "delay", "dispersion", "jitter", "tally", "state"]

pytestmark = pytest.mark.skipif(not NTPSIM.exists(), reason=f"{NTPSIM} not built")


def run(scenario, out, *extra):
    r = subprocess.run([str(NTPSIM), "run", str(scenario), "--out", str(out), "--quiet", *extra],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def png_size(path):
    """(width, height) from a PNG's IHDR chunk."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def traced(out):
    return sorted(p.name[:-len(".trace.csv")] for p in Path(out).glob("*.trace.csv"))


def gnuplot(out, nodes, title="t", **more):
    expr = f"dir='{out}'; nodes='{' '.join(nodes)}'; title='{title}'"
    for k, v in more.items():
        expr += f"; {k}='{v}'"
    r = subprocess.run(["gnuplot", "-e", expr, str(PLOTS / "ntpsim.gp")], capture_output=True,
                       text=True, timeout=RUN_TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert "error" not in r.stderr.lower(), r.stderr
    return r


needs_gnuplot = pytest.mark.skipif(shutil.which("gnuplot") is None, reason="gnuplot not installed")


# ---- plots -----------------------------------------------------------------

@needs_gnuplot
@pytest.mark.parametrize("scenario", ["seed/client-ahead", "chrony/001-defaults", "seed/firewall"])
def test_plots_are_drawn(tmp_path, scenario):
    out = tmp_path / "out"
    r = run(ROOT / "scenarios" / f"{scenario}.yaml", out)
    assert "warning" not in r.stderr.replace("Warning: empty y range", ""), r.stderr
    nodes = traced(out)
    assert nodes
    for name in ["plot.png"] + [f"{n}.plot.png" for n in nodes]:
        p = out / name
        assert p.exists(), name
        assert p.stat().st_size > PNG_MIN_BYTES, f"{name}: {p.stat().st_size} bytes"
        w, h = png_size(p)
        assert w == 1400 and h > 1000, (name, w, h)
    assert (out / "plot.svg").stat().st_size > PNG_MIN_BYTES


@needs_gnuplot
def test_run_overlay_option(tmp_path):
    """`ntpsim run --overlay DIR` (what realnet --sim --keep-logs calls)
    draws DIR's traces over the run's: the page changes; a DIR name with a
    quote in it is refused with a reason, not drawn wrongly."""
    scen = ROOT / "scenarios" / "seed" / "client-ahead.yaml"
    run(scen, tmp_path / "plain")
    other = tmp_path / "other"
    other.mkdir()
    rows = (tmp_path / "plain" / "host132.trace.csv").read_text().splitlines()
    moved = [rows[0]] + [",".join([r.split(",")[0], "%.9f" % (float(r.split(",")[1]) * 3)]
                                  + r.split(",")[2:]) for r in rows[1:]]
    (other / "host132.trace.csv").write_text("\n".join(moved) + "\n")
    run(scen, tmp_path / "over", "--overlay", str(other))
    assert (tmp_path / "over" / "plot.png").read_bytes() != (tmp_path / "plain" / "plot.png").read_bytes()
    bad = tmp_path / "it's"
    bad.mkdir()
    r = run(scen, tmp_path / "bad", "--overlay", str(bad))
    assert "quote" in r.stderr and not (tmp_path / "bad" / "plot.png").exists(), r.stderr


@needs_gnuplot
def test_stability_panel_and_overlay(tmp_path):
    out = tmp_path / "out"
    run(ROOT / "scenarios" / "chrony" / "001-defaults.yaml", out, "--no-plots")
    nodes = traced(out)
    assert (out / "client.stability.csv").exists(), "ntpsim writes the stability of traced nodes"
    (out / "client.stability.csv").unlink()
    gnuplot(out, nodes)
    _, h_without = png_size(out / "client.plot.png")
    plain = (out / "client.plot.png").read_bytes()
    shutil.copy(STAB_SAMPLE, out / "client.stability.csv")
    gnuplot(out, nodes)
    _, h_with = png_size(out / "client.plot.png")
    assert h_with == h_without + PANEL_PX, "no stability panel"
    _, h_server = png_size(out / "server.plot.png")
    assert h_server == h_without, "a node without stability.csv got the panel"

    # an overlay run (here: another seed) is drawn on the offset panel
    other = tmp_path / "other"
    run(ROOT / "scenarios" / "chrony" / "001-defaults.yaml", other, "--no-plots", "--seed", "2")
    (out / "client.stability.csv").unlink()
    gnuplot(out, nodes, overlay=str(other), overlay_label="seed 2")
    assert (out / "client.plot.png").read_bytes() != plain, "the overlay changed nothing"


@needs_gnuplot
def test_event_markers_follow_events_log(tmp_path):
    out = tmp_path / "out"
    run(ROOT / "scenarios" / "seed" / "firewall.yaml", out, "--no-plots")
    script = (f"load '{PLOTS}/ntpsim-lib.gp'; nodes = 'host131 host132'; "
              f"call '{PLOTS}/ntpsim-events.gp' '{out}/events.log' 'host132' '0'; "
              "set print '-'; print ev_labels; print '|'; "
              f"call '{PLOTS}/ntpsim-events.gp' '{out}/events.log' 'host131' '0'; print ev_labels")
    r = subprocess.run(["gnuplot", "-e", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    h132, h131 = r.stdout.split("|")
    labels = lambda s: re.findall(r'set label "([^"]*)" at ([0-9.]+),', s)
    want = [("firewall on", "0.000000"), ("started", "60.000000"),
            ("firewall off", "1800.000000")]
    got132 = labels(h132)
    for w in want:
        assert w in got132, (w, got132)
    steps = [float(line.split()[0]) for line in (out / "events.log").read_text().splitlines()
             if not line.startswith("#") and line.split()[1:3] == ["host132", "clock_step"]]
    assert steps and [float(t) for l, t in got132 if l == "step"] == pytest.approx(steps, abs=1e-6)
    # host131 started at 0 (not marked) and never stepped; the global events are there
    assert [l for l, _ in labels(h131)] == ["firewall on", "firewall off"]


@needs_gnuplot
def test_symlog_scale():
    script = (f"load '{PLOTS}/ntpsim-lib.gp'; set print '-'; "
              "print symlog(0), symlog(1e-6), symlog(-0.1), symlog(NaN); print si_s(1e-5), '|', si_s(0.1)")
    r = subprocess.run(["gnuplot", "-e", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    a, b = r.stdout.splitlines()
    v = [float(x) for x in a.split()[:3]]
    assert v == pytest.approx([0.0, 0.30103, -5.0000043], abs=1e-6)
    assert a.split()[3].lower() == "nan"
    assert b.replace(" | ", "|") == "10 µs|100 ms"


# ---- NODE.sources.csv ------------------------------------------------------

def read_sources(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == SOURCES_HEADER, rows[0]
    return rows[1:]


def check_rows(rows):
    last = -1.0
    for r in rows:
        t = float(r[0])
        assert t >= last, "rows out of time order"
        last = t
        float(r[2]), float(r[3]), float(r[4]), float(r[5])
        assert TALLIES.get(r[6]) == r[7], f"tally {r[6]!r} with state {r[7]!r}"


def test_sources_csv_every_source_and_tally(tmp_path):
    out = tmp_path / "out"
    run(ROOT / "scenarios" / "chrony" / "009-sourceselection.yaml", out, "--no-plots")
    rows = read_sources(out / "k1.sources.csv")
    check_rows(rows)
    by_src = {}
    for r in rows:
        by_src.setdefault(r[1], set()).add(r[7])
    # k1 polls 10.0.0.1 (a falseticker) and four good servers
    assert set(by_src) == {"10.0.0.1", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"}, by_src
    assert "falseticker" in by_src["10.0.0.1"]
    assert any("sys_peer" in s for s in by_src.values())
    assert all(len([r for r in rows if r[1] == s]) > 10 for s in by_src)
    for f in out.glob("*.sources.csv"):
        check_rows(read_sources(f))


def test_sources_csv_matches_peerstats(tmp_path):
    out = tmp_path / "out"
    run(ROOT / "scenarios" / "seed" / "client-ahead.yaml", out, "--no-plots")
    rows = read_sources(out / "host132.sources.csv")
    stats = "".join(p.read_text() for p in sorted((out / "stats" / "host132").glob("peerstats.*")))
    lines = [l.split() for l in stats.splitlines()]
    assert len(rows) == len(lines) > 10
    for r, w in zip(rows, lines):
        assert r[1] == w[2]
        assert [float(x) for x in r[2:6]] == [float(x) for x in w[4:8]]
        assert r[6] == " x.-+#*o"[(int(w[3], 16) >> 8) & 7]
    # a node whose conf asks for no peerstats gets sources.csv but no peerstats file
    assert (out / "host131.sources.csv").exists()


# ---- stats/NODE/{peerstats,loopstats}.YYYYMMDD --------------------------------

def date_of_mjd(mjd):
    import datetime
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=mjd - MJD_UNIX_EPOCH)).strftime("%Y%m%d")


def test_stats_files_dated_and_split_at_midnight(tmp_path):
    text = (ROOT / "scenarios" / "seed" / "client-ahead.yaml").read_text()
    assert "\nduration: 2h\n" in text
    scen = tmp_path / "midnight.yaml"
    scen.write_text(text.replace("\nduration: 2h\n", "\nstart: 2025-06-30T23:00:00Z\nduration: 2h\n"))
    out = tmp_path / "out"
    run(scen, out, "--no-plots")
    for node in ("host131", "host132"):
        for stem in ("peerstats", "loopstats"):
            files = sorted((out / "stats" / node).glob(stem + ".*"))
            assert [f.name for f in files] == [f"{stem}.20250630", f"{stem}.20250701"], files
            for f in files:
                days = {date_of_mjd(int(l.split()[0])) for l in f.read_text().splitlines()}
                assert days == {f.name.split(".")[1]}, (f, days)
    assert not list(out.glob("*.peerstats")) and not list(out.glob("*.loopstats"))


@pytest.mark.skipif(shutil.which("ntpviz") is None, reason="ntpviz (Debian ntpsec-ntpviz) not installed")
def test_ntpviz_reads_the_stats_dir(tmp_path):
    out = tmp_path / "out"
    run(ROOT / "scenarios" / "seed" / "client-ahead.yaml", out, "--no-plots")
    viz = tmp_path / "viz"
    # the scenario's 2 h from its start (ntpviz's default is the last 7 days of wall time)
    r = subprocess.run(["ntpviz", "-d", str(out / "stats" / "host132"), "-o", str(viz),
                        "-s", "2025-01-01T00:00:00", "-e", "2025-01-01T02:00:00"],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    html = (viz / "index.html").read_text()
    assert "Server Offset 192.168.163.131" in html
    peer_png = viz / "peer-offset-192.168.163.131.png"
    assert peer_png.exists() and peer_png.stat().st_size > 5000
    assert (viz / "local-offset.png").stat().st_size > 5000
    summary = (viz / "summary.csv").read_text()
    assert "Server Offset 192.168.163.131" in summary and "Local Clock Time Offset" in summary


# ---- docs/outputs.md ----------------------------------------------------------

def test_outputs_md_pandas_examples_run(tmp_path):
    pytest.importorskip("pandas", reason="pandas (Debian python3-pandas) not installed")
    doc = (ROOT / "docs" / "outputs.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 6, "docs/outputs.md lost its examples"
    run(ROOT / "scenarios" / "chrony" / "001-defaults.yaml", tmp_path / "out" / "001", "--no-plots")
    run(ROOT / "scenarios" / "seed" / "client-ahead.yaml", tmp_path / "out" / "ca", "--no-plots")
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    # every block in one namespace, then what its variables must hold
    code = "\n".join(blocks) + """
assert list(steps.node) == ["host132"], steps
assert len(settled) > 1000 and settled.bound.notna().all()
assert list(offsets.columns) == ["192.168.123.1"]
assert tally_counts.loc["192.168.123.1", "sys_peer"] > 10
assert st.adev.notna().sum() == 11 and st.tdev.isna().sum() == 2
assert len(ps) > 10 and ps.utc.min() >= pd.Timestamp("2025-01-01")
"""
    r = subprocess.run(["/usr/bin/python3", "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, code + r.stderr
