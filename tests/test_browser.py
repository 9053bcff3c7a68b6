"""The review page in a real browser: headless Chromium driven by Selenium against a live server.

Fills the form and submits it (from the keyboard), sees the choice, the alternatives and a chart; uploads a
small CSV and sees every row; checks the error path; takes screenshots at a phone width (390) and a desktop
width (1280). Skips, saying why, when Selenium or Chromium is not installed (`.ci/browser-setup.sh` installs
Chromium and its driver with apt-get). Screenshots go to a temporary folder, or to `docs/screenshots/` when
ADVISOR_SCREENSHOTS=1 (how the committed ones were made).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")

from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("ADVISOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ADVISOR_CHROMEDRIVER", "/usr/bin/chromedriver")
PHONE = (390, 844)
DESKTOP = (1280, 900)
WAIT_S = 30

SMALL_CSV = (
    "id,team,vcpu,memory_gib,replicas,requests_per_month,avg_duration_ms,horizon_months,interruptible\n"
    "web-1,web,2,8,2,,,36,\n"
    "fn-1,payments,,,,5000000,120,,\n"
    "worker-1,data,4,16,3,,,12,true\n"
    "bad-1,data,two,8,1,,,,\n"
)

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason=f"no browser: {CHROMIUM} and {CHROMEDRIVER} are needed (bash .ci/browser-setup.sh, or apt-get install "
           "chromium chromium-driver)")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The app on a free 127.0.0.1 port, served by uvicorn in a thread (work in threads, no warm-up)."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    # portfolio uploads plan at 4 x max_solver_seconds: 4 s here, enough for the page to show every part
    app = create_app(Settings(evaluation_executor="thread", solver_executor="thread", warm_up=False,
                              max_solver_seconds=1.0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(15)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    profile = tempfile.mkdtemp(prefix="advisor-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
                 # no network: every host name but the test server's fails to resolve
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                 f"--user-data-dir={profile}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"no usable browser: Chromium did not start ({str(exc).splitlines()[0]})")
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        with contextlib.suppress(WebDriverException):
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots() -> Iterator[Path]:
    if os.environ.get("ADVISOR_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
    else:
        with tempfile.TemporaryDirectory(prefix="advisor-shots-") as tmp:
            yield Path(tmp)


def size(driver: webdriver.Chrome, width_height: tuple[int, int]) -> None:
    driver.set_window_size(*width_height)
    # the window size includes no browser chrome in headless mode; make the viewport exact
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    if inner != list(width_height):
        driver.set_window_size(2 * width_height[0] - inner[0], 2 * width_height[1] - inner[1])


def shoot(driver: webdriver.Chrome, folder: Path, name: str, anchor: str | None = None) -> Path:
    if anchor:
        driver.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'start'})", anchor)
    else:
        driver.execute_script("window.scrollTo(0, 0)")
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000
    return path


def wait_for(driver: webdriver.Chrome, css: str):
    return WebDriverWait(driver, WAIT_S).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def fill(driver: webdriver.Chrome, name: str, value: str) -> None:
    field = driver.find_element(By.ID, f"f-{name}")
    field.clear()
    field.send_keys(value)


def test_form_submit_shows_choice_alternatives_and_charts(server, browser, shots):
    size(browser, DESKTOP)
    browser.get(f"{server}/review")
    assert browser.title == "Architecture review"
    shoot(browser, shots, "review-form-desktop")
    fill(browser, "id", "browser-api")
    fill(browser, "vcpu", "4")
    fill(browser, "memory_gib", "16")
    fill(browser, "replicas", "3")
    fill(browser, "horizon_months", "36")
    fill(browser, "egress_gib_month", "200")
    browser.find_element(By.ID, "f-capacity_guarantee").send_keys(Keys.SPACE)  # a checkbox, from the keyboard
    assert browser.find_element(By.ID, "f-capacity_guarantee").is_selected()
    browser.find_element(By.ID, "f-egress_gib_month").send_keys(Keys.ENTER)  # submit from the keyboard
    wait_for(browser, "#answer")
    assert "browser-api" in browser.title
    assert browser.find_element(By.ID, "choice-service").text not in ("", "nothing fits")
    assert browser.find_element(By.ID, "choice-monthly").text.startswith("$")
    rows = browser.find_elements(By.CSS_SELECTOR, "#alternatives tbody tr")
    assert len(rows) > 3 and "chosen" in rows[0].get_attribute("class")
    chart = browser.find_element(By.CSS_SELECTOR, "#chart-cost-by-option svg")
    assert chart.size["width"] > 300 and chart.size["height"] > 100  # drawn, and visible
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-what-if svg")
    assert "Guaranteeing capacity" in browser.find_element(By.ID, "whatif-sentences").text
    assert browser.find_elements(By.CSS_SELECTOR, "#rejected tbody tr")
    shoot(browser, shots, "review-answer-desktop")
    shoot(browser, shots, "review-charts-desktop", anchor="chart-cost-by-option")

    size(browser, PHONE)
    shoot(browser, shots, "review-answer-phone")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], "the page itself does not scroll sideways on a phone (wide tables scroll inside)"


def test_form_errors_in_the_browser(server, browser):
    size(browser, PHONE)
    browser.get(f"{server}/review")
    fill(browser, "vcpu", "-2")
    fill(browser, "replicas", "0")
    browser.find_element(By.ID, "submit-workload").click()
    summary = wait_for(browser, "#errors")
    assert "Fix 2 fields" in summary.text
    link = summary.find_element(By.CSS_SELECTOR, "a[href='#f-vcpu']")
    link.click()
    assert browser.switch_to.active_element.get_attribute("id") == "f-vcpu"  # the link takes you to the field
    assert browser.find_element(By.ID, "f-vcpu").get_attribute("aria-invalid") == "true"


def test_report_opens_offline_with_nothing_missing(browser, tmp_path):
    """The HTML report, opened from a file: every chart drawn, and not one resource requested."""
    from advisor.review.report import write_report

    size(browser, DESKTOP)
    out = write_report(ROOT / "data" / "examples" / "api.json", tmp_path / "review.html")
    browser.get(out.as_uri())
    wait_for(browser, "#answer")
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    svgs = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")
    # cost by option, cost vs operations effort, what-if; no risk chart: no option of this workload has any risk
    assert len(svgs) == 3 and all(s.size["width"] > 300 and s.size["height"] > 100 for s in svgs)
    assert not browser.find_elements(By.CSS_SELECTOR, "#chart-cost-vs-risk")
    assert "checkout-api" in browser.title


def test_upload_csv_shows_every_row(server, browser, shots, tmp_path):
    size(browser, DESKTOP)
    path = tmp_path / "estate.csv"
    path.write_text(SMALL_CSV)
    browser.get(f"{server}/review")
    browser.find_element(By.ID, "upload-file").send_keys(str(path))
    browser.find_element(By.ID, "submit-upload").click()
    wait_for(browser, "#rows")
    ids = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#rows tbody tr.row td:nth-child(2)")]
    assert ids == ["web-1", "fn-1", "worker-1", "bad-1"]
    wrap = browser.find_element(By.CSS_SELECTOR, "#rows").find_element(By.XPATH, "..")
    assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth + 1", wrap), \
        "the row table fits the page (no sideways scroll): a printout keeps every column"
    assert "vcpu: not a number" in browser.find_element(By.ID, "rows").text
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-cost-by-service svg")
    size(browser, (DESKTOP[0], 1600))  # tall enough for the summary, the chart and every row
    shoot(browser, shots, "review-upload-desktop")
    size(browser, PHONE)
    browser.get(f"{server}/review")
    shoot(browser, shots, "review-form-phone")


def test_upload_portfolio_shows_the_plan_in_words(server, browser, shots):
    """The example portfolio planned: the summary, the rows with their total, the solver in one line."""
    size(browser, DESKTOP)
    browser.set_page_load_timeout(180)
    browser.get(f"{server}/review")
    browser.find_element(By.ID, "upload-file").send_keys(str(ROOT / "data" / "examples" / "portfolio.json"))
    browser.find_element(By.ID, "submit-upload").click()
    WebDriverWait(browser, 180).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#plan-rows")))
    assert "workloads planned together cost" in browser.find_element(By.ID, "summary").text
    assert browser.find_element(By.CSS_SELECTOR, "#plan-rows tfoot").text.startswith("Total")
    assert "the plan's total" in browser.find_element(By.ID, "reconciles").text
    size(browser, (DESKTOP[0], 2400))
    shoot(browser, shots, "review-portfolio-desktop")


def _external_fetches(driver: webdriver.Chrome, server: str) -> list[str]:
    """Resources the page loaded from anywhere but the server. ReDoc's bundle asks for its logo from its CDN:
    the page's Content-Security-Policy (img-src 'self') blocks that before any request (duration 0), so a
    blocked image does not count; anything else from elsewhere does."""
    entries = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.toJSON())")
    return [e["name"] for e in entries if not e["name"].startswith(server)
            and not (e["initiatorType"] == "img" and e["duration"] == 0 and e["transferSize"] == 0)]


def test_api_docs_render_with_no_network(server, browser, shots):
    """/docs and /redoc draw the API's operations with every asset from this server (names resolve to nothing)."""
    size(browser, DESKTOP)
    browser.get(f"{server}/docs")
    operations = WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    paths = {o.get_attribute("data-path") or o.text for o in operations}
    assert "/v1/recommendations" in paths
    assert _external_fetches(browser, server) == []
    shoot(browser, shots, "api-docs-desktop")

    browser.get(f"{server}/redoc")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: "Recommend a placement for one workload" in d.find_element(By.TAG_NAME, "body").text)
    assert _external_fetches(browser, server) == []
    shoot(browser, shots, "api-redoc-desktop")


def test_index_opens_the_review_page_in_a_browser(server, browser):
    browser.get(f"{server}/")
    wait_for(browser, "form")
    assert browser.current_url == f"{server}/review"
