"""The --html report, loaded in a real headless browser (issue 5).

Chromium (Debian's package) is driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: fds 3 and 4, NUL-terminated JSON), so no driver,
no port and no extra Python package is needed. A test skips only when
Chromium cannot be started.

Fixtures are written at test time with fixed seeds by the official
`safetensors` package: a sharded Llama-shaped pair (heatmap), a pair whose
names carry no layer index (ranked list), a tensor and a metadata value with
hostile names (escaping), and 10k tiny tensors (the page still loads).
A screenshot of the main report is written to $WEIGHTDIFF_TEST_OUTPUT (or
pytest's temporary folder) and its path printed.
"""

import base64
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

from conftest import load_report, run_wd

HOSTILE = ('</script><script>window.__pwned=1</script>'
           '<img src=x onerror="window.__pwned=2"><!--&amp;')
HOSTILE_NAME = 'model.layers.0.' + HOSTILE + '.weight'
HOSTILE_META = '</script><img src=x onerror="window.__pwned=3">'
LAYERS = 6
PAGE_TIMEOUT_S = 60


# ---------------------------------------------------------------- browser

def chromium_path():
    for name in (os.environ.get("WEIGHTDIFF_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Browser:
    """A headless Chromium spoken to over the DevTools pipe."""

    def __init__(self, exe, profile):
        # Chromium reads commands on fd 3 and writes replies on fd 4.
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def wire_fds():
            a = os.dup(to_child_r)
            b = os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                "--password-store=basic", "--remote-debugging-pipe",
                f"--user-data-dir={profile}", "about:blank"]
        self.log = open(Path(profile) / "chromium.log", "w")
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=wire_fds,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events = []
        self.version = self.send("Browser.getVersion", timeout=30)["product"]

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe (exit {self.proc.poll()})")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=PAGE_TIMEOUT_S):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=PAGE_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for m in self.events[seen:]:
                if m.get("method") == method and m.get("sessionId") == session:
                    return m
            seen = len(self.events)
            self.events.append(self._read_message(deadline))

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._r, self._w):
            os.close(fd)
        self.log.close()


class Page:
    """One tab with a report loaded; records console, errors and requests."""

    def __init__(self, browser, path, width=1600, height=1100):
        self.b = browser
        self.url = Path(path).resolve().as_uri()
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.sid = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(domain + ".enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        start = time.monotonic()
        self.send("Page.navigate", {"url": self.url})
        browser.wait_event("Page.loadEventFired", self.sid)
        while self.eval("document.body && document.body.dataset.ready") != "1":
            broken = [p for p in self.problems() if p.startswith("exception")]
            assert not broken and time.monotonic() - start < PAGE_TIMEOUT_S, (
                "report never finished drawing; problems:\n" + "\n".join(p[:400] for p in self.problems()))
            time.sleep(0.05)
        self.load_seconds = time.monotonic() - start

    def send(self, method, params=None):
        return self.b.send(method, params, session=self.sid)

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise AssertionError(f"JS exception in {expr!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def _mine(self, method):
        return [m["params"] for m in self.b.events if m.get("sessionId") == self.sid and m.get("method") == method]

    def problems(self):
        """Uncaught exceptions, console errors/warnings, browser log errors/warnings."""
        out = [f"exception: {e['exceptionDetails']}" for e in self._mine("Runtime.exceptionThrown")]
        out += [f"console.{c['type']}: {c['args']}" for c in self._mine("Runtime.consoleAPICalled")
                if c["type"] in ("error", "warning", "assert")]
        out += [f"log {e['entry']['level']}: {e['entry'].get('text')} {e['entry'].get('url', '')}"
                for e in self._mine("Log.entryAdded") if e["entry"]["level"] in ("error", "warning")]
        return out

    def requests(self):
        return [r["request"]["url"] for r in self._mine("Network.requestWillBeSent")]

    def click(self, selector):
        """A real mouse click at the centre of the first element matching selector."""
        rect = self.eval(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
        assert rect is not None, f"nothing matches {selector}"
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": rect[0], "y": rect[1],
                                                   "button": "left", "clickCount": 1})

    def type_into(self, selector, text):
        self.click(selector)
        self.eval(f"document.querySelector({json.dumps(selector)}).select()")
        for kind in ("keyDown", "keyUp"):  # deletes the selection, as a person would
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": "Backspace", "code": "Backspace",
                                                 "windowsVirtualKeyCode": 8})
        if text:
            self.send("Input.insertText", {"text": text})

    def wait_for(self, expr, timeout=10):
        deadline = time.monotonic() + timeout
        while not self.eval(expr):
            assert time.monotonic() < deadline, f"timed out waiting for {expr}"
            time.sleep(0.05)

    def screenshot(self, path):
        height = min(int(self.eval("document.documentElement.scrollHeight")), 8000)
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                    "clip": {"x": 0, "y": 0, "width": 1600,
                                                             "height": height, "scale": 1}})
        Path(path).write_bytes(base64.b64decode(shot["data"]))

    def close(self):
        self.b.send("Target.closeTarget", {"targetId": self.send("Target.getTargetInfo")["targetInfo"]["targetId"]})


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip("no chromium on PATH (scripts/install_deps.sh installs Debian's)")
    profile = tempfile.mkdtemp(prefix="wd-chromium-")
    try:
        b = Browser(exe, profile)
    except Exception as e:  # the one reason to skip: the browser will not start
        log = (Path(profile) / "chromium.log")
        tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"chromium ({exe}) could not be started: {e}\n{tail}")
    yield b
    b.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    env = os.environ.get("WEIGHTDIFF_TEST_OUTPUT")
    d = Path(env) if env else tmp_path_factory.getbasetemp() / "html_report"
    d.mkdir(parents=True, exist_ok=True)
    return d


def open_page(browser, path):
    page = Page(browser, path)
    assert page.problems() == [], "problems while loading the report:\n" + "\n".join(page.problems())
    return page


def make_report(wd_bin, a, b, dest, *extra):
    html, js = Path(dest), Path(dest).with_suffix(".json")
    proc = run_wd(wd_bin, a, b, "--backend", "cpu", "-q", "--html", html, "--json", js, *extra, timeout=300)
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{proc.stderr}"
    return html, load_report(js)


# ---------------------------------------------------------------- fixtures

def write_sharded(folder, tensors, shards, metadata):
    """A Hugging Face sharded checkpoint: shards[i] is a list of names."""
    folder.mkdir(parents=True, exist_ok=True)
    weight_map = {}
    for i, names in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file({n: tensors[n] for n in names}, str(folder / fname), metadata)
        weight_map.update({n: fname for n in names})
    total = sum(t.nbytes for t in tensors.values())
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))


def llm_pair(root):
    """A: a 6-layer Llama-shaped model; B: A after a simulated finetune with
    close, different, renamed, reshaped and one-sided tensors."""
    rng = np.random.default_rng(20240605)
    hid, inter, vocab = 32, 48, 64

    def w(r, c):
        return (rng.standard_normal((r, c)) / np.sqrt(c)).astype(np.float32)

    a = {"model.embed_tokens.weight": w(vocab, hid), "model.norm.weight": np.ones(hid, np.float32),
         "lm_head.weight": w(vocab, hid).astype(ml_dtypes.bfloat16)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        for m in "qkvo":
            a[p + f"self_attn.{m}_proj.weight"] = w(hid, hid)
        a[p + "mlp.gate_proj.weight"] = w(inter, hid)
        a[p + "mlp.up_proj.weight"] = w(inter, hid)
        a[p + "mlp.down_proj.weight"] = w(hid, inter)
        a[p + "input_layernorm.weight"] = (1 + 0.1 * rng.standard_normal(hid)).astype(np.float32)
        a[p + "post_attention_layernorm.weight"] = (1 + 0.1 * rng.standard_normal(hid)).astype(np.float32)
    a["model.layers.4.self_attn.rotary_emb.inv_freq"] = np.linspace(1, 0.01, hid // 2, dtype=np.float32)
    a[HOSTILE_NAME] = w(8, 8)

    b = {k: v.copy() for k, v in a.items()}
    noise = lambda x, s: (x + s * x.std() * rng.standard_normal(x.shape)).astype(x.dtype)
    b["model.layers.1.self_attn.q_proj.weight"] *= np.float32(1 + 1e-7)             # close
    for m in "qkvo":
        b[f"model.layers.3.self_attn.{m}_proj.weight"] = noise(a[f"model.layers.3.self_attn.{m}_proj.weight"], 0.1)
    b["model.layers.5.mlp.down_proj.weight"] = noise(a["model.layers.5.mlp.down_proj.weight"], 0.01)
    b["model.layers.2.mlp.up_proj.weight"] = w(inter, hid + 1)                      # shape_mismatch
    del b["model.layers.4.self_attn.rotary_emb.inv_freq"]                           # only_in_a
    b["model.layers.5.adapter.weight"] = w(4, hid)                                  # only_in_b
    b["model.embed_tokens.weight"] = a["model.embed_tokens.weight"].astype(ml_dtypes.bfloat16)  # dtype change
    b[HOSTILE_NAME] = noise(a[HOSTILE_NAME], 0.5)

    order = sorted(a)
    write_sharded(root / "A", a, [order[:len(order) // 2], order[len(order) // 2:]],
                  {"format": "pt", "origin": "base", "same": "x"})
    order = sorted(b)
    b_dir = root / 'B "<i>tuned</i>"'  # a hostile folder name too: it is in the page's title
    write_sharded(b_dir, b, [order[0::3], order[1::3], order[2::3]],
                  {"format": "pt", "origin": "finetune", "same": "x", "note": HOSTILE_META})
    return root / "A", b_dir


@pytest.fixture(scope="module")
def llm_report(tmp_path_factory, wd_bin, browser):
    root = tmp_path_factory.mktemp("html_llm")
    a, b = llm_pair(root)
    html, rep = make_report(wd_bin, a, b, root / "report.html")
    return html, rep


def layer_cells(names):
    """The (layer, module) cells the heatmap must draw, as the page derives them."""
    cells = set()
    for n in names:
        parts = n.split(".")
        for k in range(1, len(parts) - 1):
            if parts[k].isdigit() and parts[k].isascii():
                cells.add((parts[k], ".".join("*" if p.isdigit() else p for p in parts[k + 1:])))
                break
    return cells


# ---------------------------------------------------------------- tests

def test_report_renders_every_part(browser, llm_report, out_dir, capsys):
    html, rep = llm_report
    page = open_page(browser, html)
    names = [t["name"] for t in rep["tensors"]]
    statuses = {t["name"]: t["status"] for t in rep["tensors"]}
    assert {"close", "different", "identical", "only_in_a", "only_in_b", "shape_mismatch"} <= set(statuses.values())

    overview = page.eval("document.getElementById('overview').innerText")
    for needle in (rep["a"]["path"], rep["b"]["path"], "safetensors", "cpu", "global rel_l2", "global cosine"):
        assert needle in overview, f"{needle!r} missing from the overview:\n{overview}"
    for status in ("identical", "close", "different", "only_in_a", "only_in_b", "shape_mismatch"):
        assert f"{status} {rep['summary'][status]}" in overview
    assert page.eval("document.getElementById('verdict').textContent") == "differences found"

    # Every tensor name is in the table once "show all" is on.
    page.click("#show-all")
    page.wait_for(f"document.querySelectorAll('#tensors tbody tr').length === {len(names)}")
    shown = page.eval("""[...document.querySelectorAll('#tensors tbody td.name')]
                         .map(td => td.firstChild.textContent)""")
    assert sorted(shown) == sorted(names)

    # Heatmap: one cell per (layer, module); rows are the 6 layers.
    cells = layer_cells(names)
    assert len({c[0] for c in cells}) == LAYERS and len({c[1] for c in cells}) >= 9
    assert page.eval("document.querySelectorAll('#heatmap-svg rect.cell').length") == len(cells)
    fills = {}
    for metric in ("max_abs", "one_minus_cos", "rel_l2"):  # rel_l2 last: the screenshot shows it
        page.eval(f"""(() => {{ const s = document.getElementById('heat-metric'); s.value = '{metric}';
                      s.dispatchEvent(new Event('change')); }})()""")
        fills[metric] = page.eval("[...document.querySelectorAll('#heatmap-svg rect.cell')].map(r => r.getAttribute('fill'))")
        assert len(fills[metric]) == len(cells)
        assert metric.replace("one_minus_cos", "1\u2212cos") in page.eval("document.getElementById('heat-legend').textContent")
    assert fills["rel_l2"] != fills["max_abs"], "switching the metric did not recolor the heatmap"
    # Tensors outside the layers are ranked beside it.
    side = page.eval("document.getElementById('ranked').innerText")
    for n in ("lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"):
        assert n in side

    # Structural differences and metadata differences are listed.
    structure = page.eval("document.getElementById('structure').innerText")
    for n, st in statuses.items():
        if st in ("only_in_a", "only_in_b", "shape_mismatch"):
            assert n in structure and st in structure
    assert "[48, 32] vs [48, 33]" in structure
    meta = page.eval("""[...document.querySelectorAll('#metadata-table tbody tr')]
                        .map(tr => [...tr.cells].map(c => c.textContent))""")
    assert sorted(meta) == [["note", "absent", HOSTILE_META], ["origin", "base", "finetune"]]

    path = out_dir / "html_report_llm.png"
    page.screenshot(path)
    assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with capsys.disabled():
        print(f"\n[html report] screenshot: {path}  (report: {html}, Chromium: {browser.version})")
    assert page.problems() == []
    page.close()


def test_clicking_a_row_shows_its_histograms(browser, llm_report):
    html, rep = llm_report
    page = open_page(browser, html)
    target = "model.layers.5.mlp.down_proj.weight"
    t = next(x for x in rep["tensors"] if x["name"] == target)
    assert page.eval("document.getElementById('detail-name').textContent") != target  # starts elsewhere
    page.type_into("#filter", "layers.5.mlp.down")
    page.wait_for("document.querySelectorAll('#tensors tbody tr').length === 1")
    page.click("#tensors tbody tr")
    page.wait_for(f"document.getElementById('detail-name').textContent === {json.dumps(target)}")
    assert page.eval("document.querySelector('#tensors tbody tr').classList.contains('sel')")
    for chart in ("chart-abs", "chart-a", "chart-b"):
        n = page.eval(f"document.querySelectorAll('#detail svg#{chart} rect.bar').length")
        assert n >= 3, f"{chart}: {n} bars"
    # The |d| chart's bars add up to the finite pairs, A's to A's finite values.
    bar_total = """(id) => [...document.querySelectorAll('#detail svg#' + id + ' rect.bar title')]
                        .reduce((s, e) => s + Number(e.textContent.split(': ').pop().replace(/,/g, '')), 0)"""
    assert page.eval(f"({bar_total})('chart-abs')") == t["n_finite"]
    assert page.eval(f"({bar_total})('chart-a')") == t["numel"]
    worst = page.eval("document.getElementById('worst').innerText")
    assert "[" + ", ".join(map(str, t["max_abs_index"])) + "]" in worst
    assert repr(t["a_at_max_abs"]) in worst and repr(t["b_at_max_abs"]) in worst

    # A heatmap cell selects its tensor too.
    page.type_into("#filter", "")
    page.click("#heatmap-svg rect.cell[data-i='%d']" % rep["tensors"].index(t))
    page.wait_for(f"document.getElementById('detail-name').textContent === {json.dumps(target)}")
    assert page.problems() == []
    page.close()


def test_no_network(browser, llm_report):
    html, _ = llm_report
    text = html.read_text(encoding="utf-8")
    refs = re.findall(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
                      text, re.I)
    assert refs == [], f"network references in the report: {refs}"
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), "a URL other than the SVG namespace"
    page = open_page(browser, html)
    requests = page.requests()
    assert page.url in requests, f"request monitoring saw nothing: {requests}"  # proves the check below sees
    assert [u for u in requests if u != page.url and not u.startswith("data:")] == []
    page.close()


def test_hostile_names_stay_text(browser, llm_report):
    html, rep = llm_report
    raw = html.read_text(encoding="utf-8")
    # Exactly the page's own two closing tags; nothing from the data.
    assert raw.count("</script") == 2 and "<!--" not in raw
    assert "window.__pwned" in json.dumps(rep) and "<img" not in raw
    page = open_page(browser, html)
    assert page.eval("typeof window.__pwned") == "undefined"
    assert page.eval("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.eval("document.scripts.length") == 2
    assert page.eval("document.title") == f"weightdiff: {rep['a']['path']} vs {rep['b']['path']}"
    page.type_into("#filter", "__pwned=1")
    page.wait_for("document.querySelectorAll('#tensors tbody tr').length === 1")
    assert page.eval("document.querySelector('#tensors tbody td.name').firstChild.textContent") == HOSTILE_NAME
    page.click("#tensors tbody tr")
    page.wait_for(f"document.getElementById('detail-name').textContent === {json.dumps(HOSTILE_NAME)}")
    assert HOSTILE_NAME in page.eval("document.getElementById('heatmap-svg').textContent")
    assert page.eval("typeof window.__pwned") == "undefined"
    assert page.problems() == [] and all(u == page.url for u in page.requests())
    page.close()


def test_structure_only_report(browser, wd_bin, llm_report, tmp_path):
    _, full = llm_report
    html, rep = make_report(wd_bin, full["a"]["path"], full["b"]["path"], tmp_path / "s.html", "--structure-only")
    statuses = {t["name"]: t["status"] for t in rep["tensors"]}
    assert statuses["model.embed_tokens.weight"] == "dtype_mismatch"
    page = open_page(browser, html)
    assert page.eval("document.getElementById('verdict').textContent") == "differences found"
    structure = page.eval("document.getElementById('structure').innerText")
    assert "model.embed_tokens.weight" in structure and "dtype_mismatch" in structure
    assert "model.layers.0.mlp.down_proj.weight" not in structure  # matched is no difference
    page.click("#show-all")
    page.wait_for(f"document.querySelectorAll('#tensors tbody tr').length === {len(statuses)}")
    fills = page.eval("[...document.querySelectorAll('#heatmap-svg rect.cell')].map(r => r.getAttribute('fill'))")
    assert len(fills) == len(layer_cells(statuses)) and set(fills) == {"#c9ced6"}  # all 'not compared'
    page.click("#tensors tbody tr[data-i='0']")
    page.wait_for(f"document.getElementById('detail-name').textContent === {json.dumps(rep['tensors'][0]['name'])}")
    assert "no statistics" in page.eval("document.getElementById('detail').innerText")
    assert page.problems() == []
    page.close()


def test_names_without_layers_get_a_ranked_list(browser, wd_bin, tmp_path):
    rng = np.random.default_rng(7)
    names = ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias", "embed", "head.weight"]
    a = {n: rng.standard_normal((16, 8)).astype(np.float32) for n in names}
    scale = dict(zip(names, [0.0, 1e-4, 1e-3, 1e-2, 1e-1, 0.5]))
    b = {n: (a[n] + scale[n] * rng.standard_normal(a[n].shape)).astype(np.float32) for n in names}
    save_file(a, str(tmp_path / "a.safetensors"))
    save_file(b, str(tmp_path / "b.safetensors"))
    html, rep = make_report(wd_bin, tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path / "r.html")
    page = open_page(browser, html)
    assert page.eval("document.getElementById('heatmap-svg')") is None
    ranked = page.eval("[...document.querySelectorAll('#ranked-list li button')].map(b => b.textContent)")
    by_rel = sorted(rep["tensors"], key=lambda t: -t["rel_l2"])
    assert ranked == [t["name"] for t in by_rel]
    assert ranked[0] == "head.weight" and ranked[-1] == "encoder.weight"
    page.click("#ranked-list li:nth-child(2) button")
    page.wait_for(f"document.getElementById('detail-name').textContent === {json.dumps(ranked[1])}")
    assert page.eval("document.querySelectorAll('#detail svg.hist').length") == 3
    assert page.problems() == []
    page.close()


def test_ten_thousand_tensors_load(browser, wd_bin, tmp_path, capsys):
    # 1000 layers x 10 modules of 4 values each; every 7th differs.
    rng = np.random.default_rng(10_000)
    modules = [f"m{j}.weight" for j in range(10)]
    names = [f"blocks.{i}.{m}" for i in range(1000) for m in modules]
    a = {n: rng.standard_normal(4).astype(np.float32) for n in names}
    b = {n: (v + (0.1 if k % 7 == 0 else 0)).astype(np.float32) for k, (n, v) in enumerate(a.items())}
    save_file(a, str(tmp_path / "a.safetensors"))
    save_file(b, str(tmp_path / "b.safetensors"))
    html, rep = make_report(wd_bin, tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path / "r.html")
    assert len(rep["tensors"]) == 10_000
    page = open_page(browser, html)
    assert page.load_seconds < PAGE_TIMEOUT_S
    with capsys.disabled():  # informational: a functional check, not a benchmark
        print(f"\n[html report] 10k tensors: {html.stat().st_size / 2**20:.1f} MiB, drawn in {page.load_seconds:.2f} s")
    assert page.eval("document.querySelectorAll('#tensors tbody tr').length") == 200  # paged
    assert page.eval("document.querySelectorAll('#heatmap-svg rect.cell').length") == 10_000
    page.type_into("#filter", "blocks.777.m3.")
    page.wait_for("document.querySelectorAll('#tensors tbody tr').length === 1")
    page.type_into("#filter", "")
    page.click("#show-all")
    page.wait_for("document.querySelectorAll('#tensors tbody tr').length === 10000", timeout=PAGE_TIMEOUT_S)
    shown = page.eval("[...document.querySelectorAll('#tensors tbody td.name')].map(td => td.firstChild.textContent)")
    assert sorted(shown) == sorted(names)
    assert page.problems() == []
    page.close()
