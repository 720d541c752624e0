"""Headless Chromium for page tests, driven through the DevTools protocol, with the network blocked.

Every http(s)/ws(s) request is blocked and the browser is set offline; the URLs the page asked
for are recorded, so a test can assert that a page loads nothing from outside the file system.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]


def chromium_executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium with one page; ``call`` sends a DevTools command and returns its result."""

    def __init__(self, width: int = 1400, height: int = 900) -> None:
        import websocket

        executable = chromium_executable()
        if executable is None:
            raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
        self.profile = Path(tempfile.mkdtemp(prefix="cnntopo-chromium-"))
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            target = next(t for t in json.load(response) if t["type"] == "page")
        self.socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30)
        self.ids = itertools.count(1)
        self.requested: list[str] = []
        self.call("Network.enable")
        self.call("Network.setBlockedURLs", urls=["http://*", "https://*", "ws://*", "wss://*"])
        self.call(
            "Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1, uploadThroughput=-1
        )
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params: Any) -> dict:
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"][:200])
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, path: Path, ready: str, timeout: float = 30) -> None:
        """Load a file and wait until the JavaScript expression ``ready`` is true."""
        self.call("Page.navigate", url=Path(path).resolve().as_uri())
        self.wait(ready, timeout)

    def wait(self, ready: str, timeout: float = 30, in_frame: bool = False) -> None:
        """Wait until the JavaScript expression ``ready`` is true (in the page, or in its first child frame)."""
        evaluate = self.evaluate_in_frame if in_frame else self.evaluate
        deadline = time.monotonic() + timeout
        while not evaluate(f"(() => {{ try {{ return Boolean({ready}); }} catch (e) {{ return false; }} }})()"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{ready} did not become true in {timeout} s")
            time.sleep(0.1)

    def evaluate_in_frame(self, expression: str) -> Any:
        """Evaluate in the page's first child frame (an iframe), in an isolated world: its DOM, not its
        script's variables. None while there is no child frame, or while it is navigating."""
        children = self.call("Page.getFrameTree")["frameTree"].get("childFrames", [])
        if not children:
            return None
        try:
            context = self.call("Page.createIsolatedWorld", frameId=children[0]["frame"]["id"])["executionContextId"]
            result = self.call("Runtime.evaluate", expression=expression, contextId=context, returnByValue=True)
        except RuntimeError:  # the frame navigated (the report re-renders it) between the two calls
            return None
        return result["result"].get("value")

    def key(self, key: str, code: str | None = None) -> None:
        """A real key press (down, up) of ``key`` (a character, or a name such as "ArrowRight")."""
        text = key if len(key) == 1 else ""
        for kind in ("keyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent", type=kind, key=key, code=code or key, text=text if kind == "keyDown" else ""
            )

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
        """A real mouse drag: pressed at ``start``, moved in steps, released at ``end``."""
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=start[0], y=start[1])
        self.call("Input.dispatchMouseEvent", type="mousePressed", x=start[0], y=start[1], button="left", clickCount=1)
        for i in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * i / steps
            y = start[1] + (end[1] - start[1]) * i / steps
            self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
        self.call("Input.dispatchMouseEvent", type="mouseReleased", x=end[0], y=end[1], button="left", clickCount=1)

    def wheel(self, x: float, y: float, delta_y: float) -> None:
        """A real wheel event at viewport (x, y)."""
        self.call("Input.dispatchMouseEvent", type="mouseWheel", x=x, y=y, deltaX=0, deltaY=delta_y)

    def click(self, x: float, y: float) -> None:
        """A real mouse click (pressed, released) at viewport coordinates."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, out: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(out).write_bytes(base64.b64decode(data))
        return Path(out)

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
