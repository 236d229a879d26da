"""Open a page in a real headless chromium and measure it (the Chrome DevTools protocol).

Used by the tests and the bench to check a report as a person would see it: how long it takes to
load (the browser's own navigation timing), which images failed to load, what an element says,
and a screenshot. The protocol is spoken over chromium's remote-debugging websocket with tornado
(already a dependency of Dask).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PageFigures:
    load_ms: float  # navigation start to the end of the load event, as the browser measured it
    images: int
    broken_images: list[str]
    texts: dict[str, str]  # element id -> its text
    screenshot: Path | None


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def _session(url: str, ids: list[str], screenshot: Path | None, width: int, height: int) -> PageFigures:
    from tornado.httpclient import AsyncHTTPClient
    from tornado.websocket import websocket_connect

    profile = tempfile.mkdtemp(prefix="asicdv-chromium-")
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for _ in range(200):
            line = proc.stderr.readline()
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if match:
                port = match.group(1)
                break
        if port is None:
            raise RuntimeError("chromium did not start its DevTools endpoint")
        listing = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/json/list")
        page = next(t for t in json.loads(listing.body) if t["type"] == "page")
        socket = await websocket_connect(page["webSocketDebuggerUrl"], max_message_size=256 * 1024 * 1024)
        counter = 0

        async def call(method: str, **params):
            nonlocal counter
            counter += 1
            socket.write_message(json.dumps({"id": counter, "method": method, "params": params}))
            while True:
                message = json.loads(await socket.read_message())
                if message.get("id") == counter:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message.get("result", {})

        async def evaluate(expression: str):
            result = await call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
            return result["result"].get("value")

        await call("Page.enable")
        await call("Page.navigate", url=url)
        await evaluate(
            "new Promise(r => document.readyState === 'complete' ? r() : window.addEventListener('load', r))"
        )
        timing = await evaluate(
            "(() => { const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd - t.startTime; })()"
        )
        images = await evaluate("Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0])")
        texts = {}
        for element in ids:
            texts[element] = await evaluate(
                f"(document.getElementById({json.dumps(element)}) || {{}}).textContent || null"
            )
        shot = None
        if screenshot is not None:
            data = await call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
            screenshot.write_bytes(base64.b64decode(data["data"]))
            shot = screenshot
        socket.close()
        return PageFigures(float(timing), len(images), [src for src, ok in images if not ok], texts, shot)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(
    path: Path, ids: list[str] = (), screenshot: Path | None = None, width: int = 1280, height: int = 1600
) -> PageFigures:
    """Load `path` in headless chromium; figures as the browser measured them."""
    if chromium() is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    return asyncio.run(_session(Path(path).resolve().as_uri(), list(ids), screenshot, width, height))
