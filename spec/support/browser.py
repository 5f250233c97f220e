#!/usr/bin/python3
"""Open a report page in headless Chromium and say what a person would see.

    browser.py PAGE.html SCREENSHOT.png [--sort] [--open ROW] [--jobs N,N...]

--sort clicks four column heads twice each; --open clicks a row's link;
--jobs looks at the charts of those jobs only (default: every open job's).

Starts Debian's chromedriver (which starts chromium) in a session of its
own, drives it through Selenium, and stops it by the pid it started (the
whole process group: chromium and its helpers with it).  Prints one JSON
object of facts (rows, statuses, sort orders, the pixels of each chart,
console messages, network requests); the spec decides what they must be.
Exit status 0 when the facts could be gathered at all, 1 otherwise (then
the JSON holds "error").
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

from selenium import webdriver
from selenium.webdriver.common.by import By

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


# --------------------------------------------------------------- PNG pixels

def png_pixels(data):
    """(width, height, rows of bytes, bytes per pixel) of an 8-bit RGB(A) PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("unsupported PNG: depth %d type %d interlace %d" % (depth, ctype, interlace))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, rows, bpp


def hexrgb(s):
    s = s.strip().lstrip("#")
    return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))


def pixel_facts(png, colors):
    """Pixels unlike the background (the commonest colour), and those near each named colour."""
    width, height, rows, bpp = png_pixels(png)
    hist = {}
    for line in rows:
        for x in range(0, width * bpp, bpp):
            px = bytes(line[x:x + 3])
            hist[px] = hist.get(px, 0) + 1
    bg = max(hist, key=hist.get)
    out = {"width": width, "height": height, "ink": 0}
    near = {name: 0 for name in colors}
    for px, n in hist.items():
        if max(abs(px[k] - bg[k]) for k in range(3)) > 24:
            out["ink"] += n
        for name, rgb in colors.items():
            if max(abs(px[k] - rgb[k]) for k in range(3)) <= 40:
                near[name] += n
    out["near"] = near
    return out


# ------------------------------------------------------------------ browser

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_driver(profile):
    port = free_port()
    proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % port, "--allowed-ips=127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("chromedriver exited with %s" % proc.returncode)
            time.sleep(0.05)
    else:
        raise RuntimeError("chromedriver did not listen within 20s")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,1000", "--hide-scrollbars", "--force-color-profile=srgb",
              "--force-device-scale-factor=1", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--user-data-dir=" + profile):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Remote(command_executor="http://127.0.0.1:%d" % port, options=opts)
    return proc, driver


def stop(proc, driver):
    if driver is not None:
        try:
            driver.quit()
        except Exception:
            pass
    if proc is not None and proc.poll() is None:
        # the group of the session it leads: chromedriver, chromium and helpers
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                pass


def wait_for(driver, script, *args, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = driver.execute_script(script, *args)
        if v:
            return v
        time.sleep(0.05)
    return None


FACTS = """
var t = document.getElementById('job-table');
var rows = Array.prototype.map.call(t.tBodies[0].rows, function (r) {
  return { id: r.id, status: r.dataset.status, name: r.cells[1].textContent, badge: r.cells[2].textContent.trim() };
});
var nav = performance.getEntriesByType('navigation')[0];
return {
  title: document.title,
  rows: rows,
  summary: Array.prototype.map.call(document.querySelectorAll('#summary .card'), function (c) {
    return [c.id, c.querySelector('b').textContent]; }),
  canvases: document.querySelectorAll('canvas[data-job]').length,
  gantt_bars: document.querySelectorAll('#gantt-svg rect.job').length,
  details: document.querySelectorAll('details.job').length,
  tails: Array.prototype.map.call(document.querySelectorAll('pre.tail'), function (p) { return p.textContent; }),
  resources: performance.getEntriesByType('resource').map(function (e) { return e.name; }),
  pwned: window.__pwned === undefined ? null : String(window.__pwned),
  images: document.images.length,
  report_errors: window.sbxReport ? window.sbxReport.errors : ['no window.sbxReport: the page script did not run'],
  load_ms: nav ? nav.loadEventEnd - nav.startTime : null,
  script_ms: nav ? nav.domContentLoadedEventEnd - nav.startTime : null,
};
"""

ORDER = "return Array.prototype.map.call(document.getElementById('job-table').tBodies[0].rows, function (r) { return r.id; });"


def main(argv):
    page, shot = os.path.abspath(argv[1]), argv[2]
    sort = "--sort" in argv
    open_row = argv[argv.index("--open") + 1] if "--open" in argv else None
    only = set(argv[argv.index("--jobs") + 1].split(",")) if "--jobs" in argv else None
    facts, proc, driver = {}, None, None
    profile = tempfile.mkdtemp(prefix="sbx-chromium-")
    try:
        proc, driver = start_driver(profile)
        facts["chromedriver_pid"] = proc.pid
        driver.set_page_load_timeout(60)
        t = time.time()
        driver.get("file://" + page)
        facts["get_s"] = round(time.time() - t, 3)
        facts.update(driver.execute_script(FACTS))
        colors = driver.execute_script(
            "var s = getComputedStyle(document.documentElement); var o = {};"
            "['--mem','--cpu','--limit','--ok','--bad','--warn','--oom'].forEach(function (n) {"
            " o[n.slice(2)] = s.getPropertyValue(n).trim(); }); return o;")
        colors = {k: hexrgb(v) for k, v in colors.items()}
        if sort:
            heads = driver.find_elements(By.CSS_SELECTOR, "#job-table thead th")
            names = [h.text.strip() for h in heads]
            orders = {}
            for col in ("peak memory", "status", "job", "duration"):
                h = heads[names.index(col)]
                h.click()
                orders[col + " asc"] = driver.execute_script(ORDER)
                h.click()
                orders[col + " desc"] = driver.execute_script(ORDER)
            facts["orders"] = orders
            facts["aria_sort"] = heads[names.index("duration")].get_attribute("aria-sort")
        if open_row:
            link = driver.find_element(By.CSS_SELECTOR, "#%s td.name a" % open_row)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
            link.click()
            job = open_row.replace("row-", "job-")
            facts["opened"] = driver.execute_script("return document.getElementById(arguments[0]).open;", job)
        # every chart, drawn when it comes into view: scroll to it, wait, look at its pixels
        charts = []
        for c in driver.find_elements(By.CSS_SELECTOR, "details[open] canvas[data-job]"):
            if only is not None and c.get_attribute("data-job") not in only:
                continue
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", c)
            drawn = wait_for(driver, "return arguments[0].dataset.drawn === '1';", c)
            info = driver.execute_script(
                "var ch = Chart.getChart(arguments[0]); return ch ? { sets: ch.data.datasets.map(function (d) {"
                " return [d.label, d.data.length]; }) } : null;", c)
            px = pixel_facts(c.screenshot_as_png, colors)
            charts.append({"job": c.get_attribute("data-job"), "kind": c.get_attribute("data-kind"),
                           "drawn": bool(drawn), "chart": info, "pixels": px})
        facts["charts"] = charts
        facts["drawn_total"] = driver.execute_script("return window.sbxReport && window.sbxReport.charts;")
        g = driver.find_elements(By.ID, "gantt-svg")
        if g:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", g[0])
            facts["gantt_pixels"] = pixel_facts(g[0].screenshot_as_png, colors)
        # the whole page in one picture: a window as tall as the page
        driver.execute_script("window.scrollTo(0, 0);")
        height = driver.execute_script("return document.documentElement.scrollHeight;")
        driver.set_window_size(1280, min(max(height, 600), 16000))
        wait_for(driver, "return document.querySelectorAll('canvas[data-job]:not([data-drawn])').length === 0"
                 " || document.querySelectorAll('details:not([open]) canvas[data-job]').length > 0;")
        time.sleep(0.2)
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        with open(shot, "wb") as f:
            f.write(driver.get_screenshot_as_png())
        facts["screenshot"] = shot
        facts["console"] = [{"level": e.get("level"), "message": e.get("message")} for e in driver.get_log("browser")]
        rc = 0
    except Exception as e:  # the spec prints it
        facts["error"] = "%s: %s" % (type(e).__name__, e)
        rc = 1
    finally:
        stop(proc, driver)
        facts["driver_alive"] = proc is not None and proc.poll() is None
        subprocess.run(["rm", "-rf", profile])
    print(json.dumps(facts))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
