"""GET /dashboard on lb4's and gw7's admin ports, in a real browser: Debian's chromium, headless,
driven through selenium and chromium-driver. The page must load without console errors, show
the numbers /status reports, and follow them while load runs (it polls every second)."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import pytest  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

import gw7_harness as g7  # noqa: E402
import lb4_harness as h  # noqa: E402
import tls_support as t  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


@pytest.fixture
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def text_of(driver, element_id):
    try:
        return driver.find_element(By.ID, element_id).text
    except Exception:  # not rendered yet, or replaced while reading
        return None


def wait_text(driver, element_id, predicate, what, timeout=15):
    h.wait_until(lambda: (lambda v: v is not None and predicate(v))(text_of(driver, element_id)),
                 timeout, what, interval=0.1)
    return text_of(driver, element_id)


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_lb4_dashboard(edge, browser):
    o = edge.origin({"name": "b", "mode": "echo"})
    admin = "127.0.0.1:%d" % h.free_port()
    lb = edge.lb4([{"name": "p", "balance": "round_robin",
                    "backends": [{"address": o.address("b")}]}], admin=admin)
    browser.get("http://%s/dashboard" % admin)
    assert browser.title == "edge dashboard"
    wait_text(browser, "stat-active", lambda v: v == "0", "0 active connections shown")
    assert o.address("b") in browser.find_element(By.ID, "pool-p").text
    assert "web" in browser.find_element(By.ID, "listeners").text
    accepted_before = int(text_of(browser, "stat-accepted"))

    # Load: five connections held open, one of them streaming bytes through the echo backend.
    held = [edge.connect(lb.address()) for _ in range(5)]
    stop = threading.Event()

    def stream():
        payload = b"x" * 65536
        while not stop.is_set():
            held[0].sendall(payload)
            h.recv_exact(held[0], len(payload))

    pump = threading.Thread(target=stream, daemon=True)
    pump.start()
    try:
        h.wait_until(lambda: t.metric(lb, "lb4_connections_active") == 5, 10, "5 relayed")
        reported = str(int(t.metric(lb, "lb4_connections_active")))
        status = json.loads(h.http_get(admin, "/status")[1])
        assert str(status["active_connections"]) == reported
        wait_text(browser, "stat-active", lambda v: v == reported, "the /status count shown")
        wait_text(browser, "stat-accepted", lambda v: int(v) >= accepted_before + 5,
                  "accepted count grew")
        wait_text(browser, "stat-bytes-in", lambda v: v.endswith("/s") and not v.startswith("0 "),
                  "a byte rate while streaming")
        first = text_of(browser, "stat-bytes-in")
        wait_text(browser, "stat-bytes-in", lambda v: v != first, "the byte rate updates")
    finally:
        stop.set()
        pump.join(10)
    for s in held:
        s.close()
    wait_text(browser, "stat-active", lambda v: v == "0", "back to 0 after the load")
    assert console_errors(browser) == []


def test_gw7_dashboard(gw, browser):
    o = gw.origin("a")
    g = gw.gw7(g7.simple_config(o, ["a"]))
    admin = "%s:%d" % g.admin
    browser.get("http://%s/dashboard" % admin)
    assert browser.title == "edge dashboard"
    wait_text(browser, "stat-generation", lambda v: v == str(g.status()["generation"]),
              "the generation /status reports")
    assert "all" in browser.find_element(By.ID, "routes").text
    assert o.address("a") in browser.find_element(By.ID, "servers").text

    # Keep-alive clients held open: /status counts them, the page must show that count.
    clients = [socket.create_connection(g.addr) for _ in range(3)]
    try:
        g7.wait_until(lambda: g.status()["connections"] == 3, 10, "3 connections")
        wait_text(browser, "stat-active", lambda v: v == "3", "3 connections shown")
        before = int(wait_text(browser, "stat-requests", lambda v: v.isdigit(), "requests"))
        stop = threading.Event()

        def load():
            while not stop.is_set():
                assert g7.request(g.addr, "GET", "/x").status == 200

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        try:
            wait_text(browser, "stat-requests", lambda v: int(v) > before + 20, "requests grow")
            wait_text(browser, "stat-rps", lambda v: v not in ("-", "0.0"), "a request rate")
            seen = text_of(browser, "stat-requests")
            wait_text(browser, "stat-requests", lambda v: int(v) > int(seen), "still counting")
        finally:
            stop.set()
            worker.join(10)
    finally:
        for c in clients:
            c.close()
    wait_text(browser, "stat-active", lambda v: v == "0", "0 connections after the load")
    assert console_errors(browser) == []
