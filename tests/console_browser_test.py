"""The web console in a real browser: headless Chromium driven by Selenium
(Debian's chromium, chromium-driver and python3-selenium) against a real
provledgerd on 127.0.0.1 serving the demo ledger, with tokens.

Usage: console_browser_test.py PROVLEDGERD PROVLEDGER DEMO_EVENTS DATA_DIR
Skipped (exit 77) when the browser is missing, unless
PROVLEDGER_REQUIRE_BROWSER is set. With PROVLEDGER_SCREENSHOTS=DIR it also
saves the screenshots the README shows.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

import provledgerd_process

PROVLEDGERD, PROVLEDGER, DEMO_EVENTS, DATA = sys.argv[1:5]
del sys.argv[1:5]

try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
TOKENS = {"clerk": ("writer-token-0123456789", "writer"),
          "auditor1": ("auditor-token-0123456789", "auditor")}
CHEN, RIVERBEND = "1526374859", "1245319599"


class ConsoleBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="provledger-console-")
        db = os.path.join(cls.dir, "db")
        subprocess.run([PROVLEDGER, "--db", db, "init"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([PROVLEDGER, "--db", db, "import", DEMO_EVENTS],
                       check=True, stdout=subprocess.DEVNULL)
        tokens = os.path.join(cls.dir, "tokens")
        with open(tokens, "w") as f:
            for name, (token, role) in TOKENS.items():
                f.write("%s %s %s\n" % (hashlib.sha256(token.encode()).hexdigest(),
                                        name, role))
        os.chmod(tokens, 0o600)
        cls.server, labels = provledgerd_process.start(
            [PROVLEDGERD, "--db", db, "--listen", "127.0.0.1:0", "--tokens", tokens,
             "--http", "127.0.0.1:0"])
        cls.http = "http://" + labels["http on"]
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1280,1000",
                    "--user-data-dir=" + os.path.join(cls.dir, "chrome")):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = webdriver.ChromeService(executable_path=CHROMEDRIVER) \
            if hasattr(webdriver, "ChromeService") else \
            webdriver.chrome.service.Service(executable_path=CHROMEDRIVER)
        try:
            cls.driver = webdriver.Chrome(service=service, options=options)
        except Exception:
            cls.server.kill()
            cls.server.wait()
            raise
        cls.driver.set_page_load_timeout(30)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.terminate()
        try:
            cls.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.server.kill()
            cls.server.wait()
        shutil.rmtree(cls.dir, ignore_errors=True)

    # ---- helpers ----

    def wait(self, condition, timeout=15):
        return WebDriverWait(self.driver, timeout).until(condition)

    def find(self, css):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def text_in(self, css, text):
        self.wait(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def set_value(self, css, value):
        el = self.driver.find_element(By.CSS_SELECTOR, css)
        self.driver.execute_script("arguments[0].value = arguments[1];", el, value)

    def sign_in(self, name):
        self.driver.get(self.http + "/")
        self.driver.execute_script("sessionStorage.clear();")
        self.driver.refresh()
        self.driver.get_log("browser")  # what earlier tests left
        token = self.find("#f-token")
        token.send_keys(TOKENS[name][0])
        token.submit()
        self.assertEqual(self.text_in("#identity", name), name)
        self.assertEqual(self.find("#role").text, TOKENS[name][1])

    def assert_no_console_errors(self, allowed_statuses=()):
        """No error in the console: no script error, no file of the page
        missing; an API answer with an error status the page shows is
        logged by the browser too, and allowed when expected."""
        errors = [e for e in self.driver.get_log("browser")
                  if e["level"] == "SEVERE" and not (
                      e["source"] == "network" and "/v1/" in e["message"] and
                      any("status of %d" % s in e["message"]
                          for s in allowed_statuses))]
        self.assertEqual(errors, [])

    def digest(self):
        request = urllib.request.Request(
            self.http + "/v1/digest",
            headers={"Authorization": "Bearer " + TOKENS["clerk"][0]})
        with urllib.request.urlopen(request, timeout=20) as r:
            return json.load(r)["digest"]

    def bar(self, kind):
        """The report's bars of `kind`, read inside its frame."""
        self.driver.switch_to.frame(self.find("#report"))
        try:
            return [(b.get_attribute("class"), b.get_attribute("data-start"),
                     b.get_attribute("data-end"))
                    for b in self.driver.find_elements(
                        By.CSS_SELECTOR, "rect.bar." + kind)]
        finally:
            self.driver.switch_to.default_content()

    def screenshot(self, name):
        out = os.environ.get("PROVLEDGER_SCREENSHOTS")
        if out:
            self.driver.save_screenshot(os.path.join(out, name))

    # ---- the console ----

    def test_a_writer_finds_dr_chen_and_moves_known_at_before_the_late_departure(self):
        self.sign_in("clerk")
        search = self.find("#f-q")
        search.send_keys("Chen")
        search.submit()
        hit = self.find("a.hit")
        self.assertEqual(hit.text, CHEN)
        self.assertIn("James Chen", self.find("#results").text)
        self.assert_no_console_errors()
        hit.click()
        self.text_in("h1", "James Chen")
        self.text_in("#knownat-caption", "now (seq 26)")
        self.set_value("#f-dos", "2024-03-10")
        self.driver.execute_script(
            "document.getElementById('f-dos').dispatchEvent(new Event('change'));")
        self.wait(lambda d: "dos=2024-03-10" in d.execute_script("return location.hash"))
        self.text_in("#events", "Events as known at seq 26")
        # The reassignment ends 2024-02-29, its end recorded late.
        self.assertEqual(self.bar("reassignment"),
                         [("bar reassignment backdated-end", "2022-03-01", "2024-02-29")])
        self.screenshot("console-provider.png")
        # One step back: known at seq 25, the revocation that ended it.
        self.find("#earlier").click()
        self.text_in("#knownat-caption", "seq 25, recorded ")
        self.text_in("#events", "Events as known at seq 25")
        self.assertEqual(self.bar("reassignment"),
                         [("bar reassignment backdated-end", "2022-03-01", "2024-02-29")])
        # Another: known at seq 16, before the revocation was recorded: the
        # reassignment is still open.
        self.find("#earlier").click()
        self.text_in("#knownat-caption", "seq 16, recorded ")
        self.text_in("#events", "Events as known at seq 16")
        self.assertEqual(self.bar("reassignment"),
                         [("bar reassignment open", "2022-03-01", "")])
        self.assertNotIn("revoked", self.find("#events").text)
        self.assertIn("known_seq=16", self.driver.execute_script("return location.hash"))
        self.assert_no_console_errors()

    def test_the_claim_form_gives_reassignment_ended_now_and_payable_as_known_at_24(self):
        self.sign_in("clerk")
        self.driver.get(self.http + "/#claim")
        self.find("#f-rendering").send_keys(CHEN)
        self.find("#f-billing").send_keys(RIVERBEND)
        self.set_value("#f-dos", "2024-03-10")
        self.find("#check").click()
        self.assertEqual(self.text_in("#result", "denied"), "denied")
        answer = self.find("#claim-answer").text
        self.assertIn("REASSIGNMENT_ENDED: the reassignment of 1526374859 to 1245319599 "
                      "was last in effect on 2024-02-28 (ended from 2024-02-29 by seq 25), "
                      "before the date of service 2024-03-10", answer)
        self.assertIn("as known at seq 26", answer)
        self.screenshot("console-claim.png")
        self.find("#f-known").send_keys("24")
        self.find("#check").click()
        self.assertEqual(self.text_in("#result", "payable"), "payable")
        self.assertIn("as known at seq 24", self.find("#claim-answer").text)
        self.assert_no_console_errors()

    def test_an_upload_with_a_bad_npi_on_line_2_shows_it_and_writes_nothing(self):
        self.sign_in("clerk")
        before = self.digest()
        path = os.path.join(self.dir, "upload.jsonl")
        with open(path, "w") as f:
            f.write(json.dumps({"event_id": "up-1", "effective_date": "2024-06-01",
                                "source": "console test",
                                "credentialed": {"npi": CHEN, "payer": "medicare",
                                                 "expires_on": "2027-06-01"}}) + "\n")
            f.write(json.dumps({"event_id": "up-2", "effective_date": "2024-06-01",
                                "source": "console test",
                                "credentialed": {"npi": "1526374850", "payer": "medicare",
                                                 "expires_on": "2027-06-01"}}) + "\n")
        self.driver.get(self.http + "/#upload")
        self.find("#f-events-file").send_keys(path)
        self.find("#upload").click()
        result = self.text_in("#upload-result", "nothing was written")
        self.assertIn("1 line is not a valid event; nothing was written", result)
        self.assertIn("line 2: credentialed.npi: '1526374850' fails the NPI check digit",
                      result)
        self.assertEqual(self.digest(), before)
        self.assert_no_console_errors(allowed_statuses=(400,))

    def test_reconcile_shows_the_discrepancies_filterable_and_csv_is_safe(self):
        self.sign_in("auditor1")
        self.driver.get(self.http + "/#reconcile")
        self.find("#f-roster-file").send_keys(
            os.path.abspath(os.path.join(DATA, "cms_reassignment_2024-06.csv")))
        self.find("#f-org").send_keys("O20150101000123")
        self.set_value("#f-as_of", "2024-06-01")
        self.find("#f-org").submit()
        self.assertEqual(
            self.text_in("#reconcile-summary", "row(s)"),
            "7 row(s): 1 matched, 0 mismatched, 1 not compared, 1 unparseable; "
            "2 discrepancy(ies)")
        rows = lambda: [r.text for r in self.driver.find_elements(
            By.CSS_SELECTOR, "#reconcile-result tbody tr")]
        self.assertEqual(len(rows()), 2)
        self.driver.execute_script(
            "const s = document.getElementById('f-code'); s.value = 'STALE_AT_PAYER';"
            "s.dispatchEvent(new Event('change'));")
        self.wait(lambda d: len(rows()) == 1)
        self.assertTrue(rows()[0].startswith("STALE_AT_PAYER 3 1526374859 1245319599 "
                                             "listed by medicare but the ledger ended"))
        # The CSV the download buttons write: quoted where needed, and a
        # cell that a spreadsheet would run as a formula made text.
        self.assertEqual(
            self.driver.execute_script(
                "return toCsv(['a', 'b'], [['=HYPERLINK(\"x\")', 'plain'], "
                "['-1+2', 'x,y']]);"),
            "a,b\r\n\"'=HYPERLINK(\"\"x\"\")\",plain\r\n\"'-1+2\",\"x,y\"\r\n")
        self.assert_no_console_errors()

    def test_an_auditor_sees_no_upload_page(self):
        self.sign_in("auditor1")
        link = self.driver.find_element(By.CSS_SELECTOR, "nav a[data-view=upload]")
        self.assertFalse(link.is_displayed())
        self.driver.get(self.http + "/#upload")
        self.assertIn("Your role (auditor) may not append events",
                      self.find("#no-upload").text)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "#f-events-file"), [])
        self.assert_no_console_errors()

    def test_roster_digest_and_a_wrong_token(self):
        self.sign_in("auditor1")
        self.driver.get(self.http + "/#roster?org=" + RIVERBEND)
        self.set_value("#f-date", "2024-01-10")
        self.find("#roster ~ form, form").submit()
        roster = self.text_in("#roster", "reassignment(s) in effect on 2024-01-10")
        self.assertIn(CHEN, roster)
        self.driver.get(self.http + "/#digest")
        digest = self.text_in("#digest", ":")
        self.assertEqual(digest, self.digest())
        box = self.find("#f-digest")
        box.send_keys(digest)
        box.submit()
        self.assertIn("verified", self.text_in("#verify-result", "verified"))
        self.find("#signout").click()
        token = self.find("#f-token")
        token.send_keys("not-a-token")
        token.submit()
        self.assertEqual(self.text_in(".error", "UNAUTHENTICATED"),
                         "UNAUTHENTICATED: the token is not one this server knows")
        self.assert_no_console_errors(allowed_statuses=(401,))


if __name__ == "__main__":
    if not (HAVE_SELENIUM and CHROMIUM and CHROMEDRIVER):
        missing = [n for n, ok in (("python3-selenium", HAVE_SELENIUM),
                                   ("chromium", CHROMIUM),
                                   ("chromium-driver", CHROMEDRIVER)) if not ok]
        print("missing: " + ", ".join(missing) + " (.ci/build --with-browser installs them)")
        sys.exit(1 if os.environ.get("PROVLEDGER_REQUIRE_BROWSER") else 77)
    unittest.main()
