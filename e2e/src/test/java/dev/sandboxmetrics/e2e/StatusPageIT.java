package dev.sandboxmetrics.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The {@code /sandboxes} page in a real browser: Debian's headless Chromium loads the page that the packaged
 * server serves for two simulated sandboxes, one healthy and one whose error text is HTML and script
 * markup ({@code --fault hostile-error}). The test looks at it as a person would: a screenshot (kept in
 * {@code e2e/target/status-page.png}) in which the broken row is highlighted, and the DOM after the page's
 * script ran, in which the error is text, not markup, and the table sorts. Clicks and the page's own
 * reload are driven over the DevTools protocol ({@link DevToolsPage}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StatusPageIT {
  private static final Duration START_LIMIT = Duration.ofSeconds(60);
  private static final long BROWSER_LIMIT_SECONDS = 90;
  private static final long CURL_LIMIT_SECONDS = 30;
  /** The highlight of rows in trouble (tr.trouble in the page's style): #fde2e1. */
  private static final int TROUBLE_RGB = 0xfde2e1;

  private Path chromium;
  private Path curl;
  private Path work;
  private ChildProcesses processes;
  private String address;
  private String healthy;
  private String broken;

  @BeforeAll
  void startSandboxesAndServer() throws Exception {
    chromium = RequiredProgram.require("chromium", "chromium");
    curl = RequiredProgram.require("curl", "curl");
    SandboxMetricsJar jar = SandboxMetricsJar.locate();
    work = Files.createTempDirectory("sandbox-metrics-status-page-");
    Path root = Files.createDirectory(work.resolve("root"));
    address = "127.0.0.1:" + FreePort.onLoopback();
    processes = new ChildProcesses(work);
    processes.start("simulator", jar.command("--root=" + root, "--metric-server=" + address,
        "simulate", "--sandboxes", "2", "--fault", "hostile-error=1"));
    processes.start("server", jar.command("--root=" + root, "--metric-server=" + address, "metric-server"));

    // A scrape gives the page its query columns; poll until both sandboxes were asked.
    JsonNode rows = Await.until("the server has queried both simulated sandboxes", START_LIMIT, () -> {
      curl("http://" + address + "/metrics");
      return new ObjectMapper().readTree(curl("-H", "Accept: application/json", "http://" + address + "/sandboxes")
          .stdout()).get("sandboxes");
    }, r -> r.size() == 2 && r.get(0).hasNonNull("last_queried") && r.get(1).hasNonNull("last_queried"),
        processes::logs);
    for (JsonNode row : rows) {
      if (row.get("state").asText().equals("broken")) {
        broken = row.get("id").asText();
      } else {
        healthy = row.get("id").asText();
      }
    }
    assertThat(broken).as("the sandbox with the hostile error, in %s", rows).isNotNull();
    assertThat(healthy).as("the healthy sandbox, in %s", rows).isNotNull();
  }

  @AfterAll
  void stopEverything() throws IOException {
    if (processes != null) {
      processes.close();
    }
    if (work != null) {
      try (Stream<Path> paths = Files.walk(work)) {
        paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void aPersonSeesBothSandboxesWithTheBrokenOneHighlighted() throws Exception {
    Path screenshot = RepoRoot.path().resolve("e2e/target/status-page.png");
    Files.createDirectories(screenshot.getParent());
    Files.deleteIfExists(screenshot);

    browser("--window-size=1400,600", "--screenshot=" + screenshot, "http://" + address + "/sandboxes?refresh=0");

    BufferedImage image = ImageIO.read(screenshot.toFile());
    assertThat(image).as("the screenshot %s", screenshot).isNotNull();
    assertThat(image.getWidth()).isEqualTo(1400);
    long highlighted = 0;
    long dark = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int rgb = image.getRGB(x, y) & 0xffffff;
        if (rgb == TROUBLE_RGB) {
          highlighted++;
        }
        if (((rgb >> 16) & 0xff) + ((rgb >> 8) & 0xff) + (rgb & 0xff) < 200) {
          dark++;
        }
      }
    }
    // One highlighted row: a band of the trouble colour at least the width of the table and a line high.
    assertThat(highlighted).as("pixels of the broken row's highlight").isGreaterThan(1000L * 15);
    assertThat(dark).as("pixels of text").isGreaterThan(2000);
  }

  @Test
  void theHostileErrorIsTextAndInjectsNoMarkup() {
    String dom = browser("--dump-dom", "http://" + address + "/sandboxes?refresh=0");

    assertThat(dom).contains("data-ready=\"yes\"");
    assertThat(dom).doesNotContain("data-injected").doesNotContain("id=\"injected\"").doesNotContain("<img")
        .doesNotContain("<b ");
    assertThat(count(dom, "<script")).as("script elements in the DOM").isEqualTo(1);
    List<String> rows = rows(dom);
    assertThat(rows).as("table rows: the error's closing tags closed nothing").hasSize(2);
    String brokenRow = rows.stream().filter(r -> r.contains(">" + broken + "<")).findFirst().orElseThrow();
    assertThat(brokenRow).contains("class=\"trouble\"").contains(">broken<")
        .contains("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;document.body.dataset.injected=")
        .contains("&lt;b id=injected&gt;bold&lt;/b&gt; &amp; \"quoted\"");
    String healthyRow = rows.stream().filter(r -> r.contains(">" + healthy + "<")).findFirst().orElseThrow();
    assertThat(healthyRow).contains("class=\"ok\"").contains(">served<");
  }

  @Test
  void theOrderInTheAddressSortsTheTable() {
    // Column 5 is the state: "served" sorts after "broken", so descending puts the healthy sandbox first.
    String dom = browser("--dump-dom", "http://" + address + "/sandboxes?refresh=0#sort=5-desc");

    assertThat(dom).contains("data-sorted=\"5-desc\"");
    List<String> rows = rows(dom);
    assertThat(rows.get(0)).contains(">" + healthy + "<");
    assertThat(rows.get(1)).contains(">" + broken + "<");
    assertThat(dom).contains("aria-sort=\"descending\">State</th>");

    String ascending = browser("--dump-dom", "http://" + address + "/sandboxes?refresh=0#sort=5-asc");
    assertThat(rows(ascending).get(0)).contains(">" + broken + "<");
  }

  @Test
  void aClickOnAColumnHeaderSortsByItAndASecondClickReverses() throws Exception {
    try (DevToolsPage page = devTools("chromium-sort")) {
      page.navigate("http://" + address + "/sandboxes?refresh=0");
      page.awaitTrue("the page's script ran", READY);

      page.evaluate(CLICK_STATE_HEADER);
      assertThat(page.evaluate(ROW_ORDER).asText()).as("ascending by state").isEqualTo(broken + "," + healthy);
      page.evaluate(CLICK_STATE_HEADER);
      assertThat(page.evaluate(ROW_ORDER).asText()).as("descending by state").isEqualTo(healthy + "," + broken);
      assertThat(page.evaluate("location.hash").asText()).isEqualTo("#sort=5-desc");
    }
  }

  @Test
  void thePageReloadsItselfAndKeepsItsOrder() throws Exception {
    try (DevToolsPage page = devTools("chromium-reload")) {
      page.navigate("http://" + address + "/sandboxes?refresh=1#sort=5-desc");
      page.awaitTrue("the page's script ran", READY);
      // A mark in this page's JavaScript world: a reload starts a new one without it.
      page.evaluate("window.loadedBefore = true");

      page.awaitTrue("the page reloaded itself", "window.loadedBefore === undefined && " + READY);

      assertThat(page.evaluate("document.getElementById('sandboxes').getAttribute('data-sorted')").asText())
          .isEqualTo("5-desc");
      assertThat(page.evaluate(ROW_ORDER).asText()).isEqualTo(healthy + "," + broken);
    }
  }

  @Test
  void theIndexPageLinksToIt() {
    String dom = browser("--dump-dom", "http://" + address + "/");

    assertThat(dom).contains("<a href=\"/sandboxes\">/sandboxes</a>");
  }

  // ---- helpers ----

  private static final String READY =
      "document.body !== null && document.body.getAttribute('data-ready') === 'yes'";
  private static final String CLICK_STATE_HEADER = "document.querySelectorAll('#sandboxes th')[5].click()";
  private static final String ROW_ORDER =
      "Array.from(document.querySelectorAll('#sandboxes tbody tr')).map(r => r.cells[0].textContent).join(',')";

  private DevToolsPage devTools(String name) throws Exception {
    Path profile = Files.createTempDirectory(work, "chromium-profile-");
    return DevToolsPage.open(chromium, processes, name, profile, work.resolve(name + ".log"));
  }

  /** The tbody's rows, each from {@code <tr} to {@code </tr>}. */
  private static List<String> rows(String dom) {
    int body = dom.indexOf("<tbody>");
    int end = dom.indexOf("</tbody>", body);
    assertThat(body).as("a tbody in %s", dom).isPositive();
    List<String> rows = new ArrayList<>();
    Matcher m = Pattern.compile("<tr\\b.*?</tr>", Pattern.DOTALL).matcher(dom.substring(body, end));
    while (m.find()) {
      rows.add(m.group());
    }
    return rows;
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  /** Runs headless Chromium with a fresh profile; returns what it printed (the DOM with --dump-dom). */
  private String browser(String... args) {
    Path profile;
    try {
      profile = Files.createTempDirectory(work, "chromium-profile-");
    } catch (IOException e) {
      throw new AssertionError("cannot make a profile directory in " + work, e);
    }
    List<String> command = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox",
        "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--user-data-dir=" + profile));
    command.addAll(Arrays.asList(args));
    Command.Result result = Command.run(command, null, BROWSER_LIMIT_SECONDS);
    assertThat(result.exitCode()).as("%s\n%s", result, processes.logs()).isZero();
    return result.stdoutText();
  }

  private Command.Result curl(String... args) {
    List<String> command = new ArrayList<>(List.of(curl.toString(), "--silent", "--show-error", "--fail",
        "--max-time", String.valueOf(CURL_LIMIT_SECONDS)));
    command.addAll(Arrays.asList(args));
    Command.Result result = Command.run(command, null, CURL_LIMIT_SECONDS + 5);
    if (result.exitCode() != 0) {
      throw new IllegalStateException(result.toString());
    }
    return result;
  }
}
